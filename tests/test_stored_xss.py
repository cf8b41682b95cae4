"""Stored XSS: hostile text in every free-text field is shown as text, never run.

Every CharField/TextField of every model in `sessions_app.models` (found by
introspection, so a field added tomorrow is covered) is filled with one
payload per test, on a record that has one of everything (`crawl.full_record`
plus a reassignment, an emergency access grant and an audit row). Then the
therapist, the clinic admin and the patient walk every page they can reach
(`tests/crawl.py`) and each HTML page is checked: the raw payload never
appears, no tag carries an injected handler, script or `javascript:` link,
and template syntax comes back as the literal text. CSV exports are checked
for the formula-injection guard instead, and a scan of templates and Python
modules fails on `|safe`, `mark_safe`, `format_html` and `{% autoescape off %}`
outside a reviewed allow-list.
"""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from sessions_app.models import AuditEvent
from tests import crawl, factories

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent

PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "attribute": '"><img src=x onerror=alert(1)>',
    "single-quote attribute": "' onmouseover='alert(1)",
    "template variable": "{{ 7*7 }}",
    "template tag": "{% debug %}",
    "javascript url": "javascript:alert(1)",
}

# Free-text fields deliberately left out of the fill, with the reason. Fields with
# `choices` are left out too (a form only accepts their codes; pages show the label).
SKIPPED_FIELDS = {
    "User.password": "a password hash, never shown",
    "User.username": "an identifier: the username validator allows letters, digits and @.+-_ only",
    "AuditEvent.role": "an identifier copied from User.role, which has choices",
}

PERSONAS = ("therapist", "clinic_admin", "patient_user")


def free_text_fields() -> list[tuple[type[models.Model], models.Field]]:
    """Every CharField/TextField (EmailField too) of the app's models, minus choices and SKIPPED_FIELDS."""
    found = []
    for model in apps.get_app_config("sessions_app").get_models():
        for f in model._meta.concrete_fields:
            if not isinstance(f, (models.CharField, models.TextField)) or f.choices:
                continue
            if f"{model.__name__}.{f.name}" in SKIPPED_FIELDS:
                continue
            found.append((model, f))
    return found


def fill_every_free_text_field(payload: str) -> int:
    """Write `payload` into every free-text field of every row (bypassing save(): signed notes too).

    Each value starts with a per-row tag (unique columns stay unique) and is cut
    to the column's length. Returns how many values were written.
    """
    written = 0
    by_model: dict[type[models.Model], list[models.Field]] = {}
    for model, f in free_text_fields():
        by_model.setdefault(model, []).append(f)
    for model, fields in by_model.items():
        for pk in model.objects.values_list("pk", flat=True):
            values = {}
            for f in fields:
                value = f"q{pk} {payload}"
                values[f.attname] = value[: f.max_length] if f.max_length else value
            # A plain QuerySet: the signed-session lock guards the app's writes, not this fixture.
            written += models.QuerySet(model).filter(pk=pk).update(**values) * len(values)
    return written


@pytest.fixture
def hostile_record(therapist, patient, other_therapist, clinic_admin):
    """One of everything under `patient`, plus the clinic-level rows only some pages show."""
    record = crawl.full_record(therapist, patient)
    factories.ReassignmentFactory(
        course=record["course"],
        from_therapist=other_therapist,
        to_therapist=therapist,
        reassigned_by=clinic_admin,
    )
    factories.EmergencyAccessFactory(patient=patient, user=other_therapist)
    factories.AuditEventFactory(
        user=therapist, clinic=therapist.clinic, patient_public_id=patient.public_id, path="/patients/"
    )
    return record


class _Tags(HTMLParser):
    """Collects what an injection would add: scripts, handlers, javascript: links, stray images."""

    URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data"}

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and not attributes.get("src"):
            self.problems.append("inline <script>")
        if tag == "img" and attributes.get("src") == "x":
            self.problems.append("injected <img src=x>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in self.URL_ATTRS and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")

    handle_startendtag = handle_starttag


def html_problems(html: str, payload: str) -> list[str]:
    """What in `html` shows the payload was interpreted rather than shown as text."""
    problems = []
    if escape(payload) != payload and payload in html:
        problems.append(f"raw payload {payload!r}")
    parser = _Tags()
    parser.feed(html)
    problems += parser.problems
    if re.search(r"q\d+ 49", html):
        problems.append("{{ 7*7 }} rendered as 49")
    if "{% debug %}" in payload and re.search(r"q\d+ \{'", html):
        problems.append("{% debug %} rendered the context")
    return problems


def walk_as(user) -> crawl.Walk:
    client = Client()
    client.force_login(user)
    return crawl.walk(client)


def test_the_fill_covers_the_fields_that_matter():
    """Introspection finds the fields we know pages show (so the fill is not vacuous)."""
    names = {f"{model.__name__}.{f.name}" for model, f in free_text_fields()}
    for expected in (
        "Patient.given_name",
        "Patient.presenting_concerns",
        "Course.formulation",
        "RelationshipEntry.name",
        "TherapySession.events_since_last",
        "TherapySession.private_note",
        "Goal.text",
        "SessionAddendum.text",
        "Reassignment.reason",
        "EmergencyAccess.reason",
        "Clinic.name",
        "User.first_name",
        "AuditEvent.path",
    ):
        assert expected in names
    # Every skipped field still exists (a stale skip list hides nothing by accident).
    for qualified in SKIPPED_FIELDS:
        model_name, field_name = qualified.split(".")
        apps.get_model("sessions_app", model_name)._meta.get_field(field_name)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("persona", PERSONAS)
def test_payloads_in_every_free_text_field_are_shown_as_text(request, hostile_record, persona, payload):
    user = request.getfixturevalue(persona)
    assert fill_every_free_text_field(payload) > 50
    visits = walk_as(user).visits
    pages = [v for v in visits if v.status == 200 and v.html]
    assert len(pages) >= 3, f"the walk found too little to be a test: {[v.url for v in visits]}"
    assert [v.url for v in visits if v.status >= 500] == []
    problems = {v.url: found for v in pages if (found := html_problems(v.html, payload))}
    assert problems == {}
    # The payload did reach the pages, as text: otherwise this test proves nothing.
    shown = [v.url for v in pages if escape(f" {payload}") in v.html or f" {payload}" in v.html]
    assert shown, f"{payload!r} was not shown on any page {persona} reached"


def test_the_closeness_circle_shows_a_hostile_name_as_text(client, therapist, patient):
    record = crawl.full_record(therapist, patient)
    hostile = '<script>alert(1)</script>"><svg onload=x>'
    factories.RelationshipEntryFactory(course=record["course"], name=hostile)
    client.force_login(therapist)
    html = client.get(reverse("course-detail", args=[record["course"].public_id])).content.decode()
    circle = html[html.index('data-testid="closeness-circle"') :]
    circle = circle[: circle.index("</svg>")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;svg onload=x&gt;" in circle  # the <title>
    assert "&lt;script&gt;al" in circle  # the shortened label
    assert "<script" not in circle and "<svg onload" not in circle


# --- CSV exports: not HTML, but a cell must never start a spreadsheet formula -------------------------

FORMULAS = ('=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)")


def _cells(body: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(body)) for cell in row]


def _body(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode()


@pytest.mark.parametrize("formula", FORMULAS)
def test_exports_defuse_formulas_in_names(client, therapist, clinic_admin, patient, formula):
    crawl.full_record(therapist, patient)
    type(patient).objects.filter(pk=patient.pk).update(given_name=formula, family_name=formula)
    type(therapist).objects.filter(pk=therapist.pk).update(first_name=formula, last_name=formula)
    patient.refresh_from_db()
    therapist.refresh_from_db()
    # An audit row whose free text starts with the formula, as a crafted URL would leave.
    factories.AuditEventFactory(
        user=therapist,
        clinic=therapist.clinic,
        patient_public_id=patient.public_id,
        path=formula,
        object_id=formula,
    )
    client.force_login(clinic_admin)
    caseload = _cells(_body(client.get(reverse("clinic-export"))))
    audit_cells = _cells(_body(client.get(reverse("clinic-audit-export"))))
    for name, cells in (("clinic export", caseload), ("audit export", audit_cells)):
        ours = [c for c in cells if formula in c]
        assert ours, f"{name} does not show the name at all: {cells[:40]}"
        assert all(c.startswith("'") for c in ours), f"{name} cells not defused: {ours}"


# --- No escaping switched off on user data -----------------------------------------------------------

UNSAFE = re.compile(
    r"\|\s*safe\b|\|\s*safeseq\b|\{%\s*autoescape\s+off\s*%\}|\bmark_safe\b|\bformat_html(_join)?\b"
    r"|\bSafeString\b|\bSafeText\b|\bSafeData\b|is_safe\s*=\s*True|needs_autoescape"
)

# (path relative to the repository, the matched text) -> why it is safe. Reviewed by hand; empty today:
# the SVG charts are drawn by templates/charts/*.html from numbers computed in sessions_app/charts.py,
# with names and labels going through ordinary autoescaped {{ }} (see the closeness-circle test above).
ALLOWED: dict[tuple[str, str], str] = {}


def _scanned_files() -> list[Path]:
    files = sorted((ROOT / "templates").rglob("*.html"))
    for package in ("sessions_app", "ipt_tracker"):
        files += sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)
    return files


def unsafe_uses() -> list[tuple[str, str]]:
    found = []
    for path in _scanned_files():
        for match in UNSAFE.finditer(path.read_text()):
            found.append((str(path.relative_to(ROOT)), match.group(0)))
    return found


def test_no_template_or_module_switches_escaping_off():
    assert len(_scanned_files()) > 50
    unreviewed = [use for use in unsafe_uses() if use not in ALLOWED]
    assert unreviewed == [], "escaping switched off outside the reviewed allow-list: " + repr(unreviewed)
    stale = [entry for entry in ALLOWED if entry not in unsafe_uses()]
    assert stale == [], f"allow-list entries that no longer match anything: {stale}"


@pytest.mark.parametrize(
    "snippet",
    [
        "{{ p.name|safe }}",
        "{{ x | safe }}",
        "{% autoescape off %}",
        "mark_safe(text)",
        "format_html('{}', x)",
    ],
)
def test_the_scan_recognises_each_form(snippet):
    assert UNSAFE.search(snippet)


def test_audit_row_text_is_escaped_on_the_audit_log(client, clinic_admin, therapist):
    AuditEvent.objects.create(
        user=therapist,
        username=therapist.username,
        role=therapist.role,
        clinic=therapist.clinic,
        action=AuditEvent.Action.VIEW,
        object_type="<script>alert(1)</script>",
        path='/x/"><img src=x onerror=alert(1)>',
    )
    client.force_login(clinic_admin)
    html = client.get(reverse("clinic-audit-log")).content.decode()
    assert html_problems(html, '"><img src=x onerror=alert(1)>') == []
    assert "<script>alert(1)</script>" not in html


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_the_checks_catch_output_that_was_not_escaped(payload):
    """The page checks above would fail if a template printed the payload raw (or evaluated it)."""
    from django.template import Context, Template

    raw = Template("{% autoescape off %}<p title='q1 {{ v }}'>q1 {{ v }}</p>{% endautoescape %}")
    html = raw.render(Context({"v": payload}))
    if payload == "{{ 7*7 }}":
        html = html.replace(payload, "49")  # what a template-injection bug would render
    if payload == "{% debug %}":
        html = html.replace(payload, "{'csrf_token': 'x'}")
    if payload == "javascript:alert(1)":
        html = f'<a href="{payload}">link</a>'
    assert html_problems(html, payload) != []
    escaped = Template("<p title='q1 {{ v }}'>q1 {{ v }}</p>").render(Context({"v": payload}))
    assert html_problems(escaped, payload) == []
