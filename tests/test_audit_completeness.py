"""Every read of patient data leaves an audit row, on every page that exists.

The walk (tests/crawl.py) follows every link the therapist, the clinic admin
and the patient can see, over a record with one of everything. Each page
(or export) that is not classified below as showing no patient data must
write a VIEW, LIST or EXPORT row; and wherever the patient's name appears in
what was sent, a read row must name that patient (by public id), so that the
clinic's audit log and the patient's own access history find it. Routes no
link reaches are requested directly (or must be classified below), so a page
added later is covered the day it lands.
"""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from sessions_app.models import AuditEvent
from tests import crawl, factories

pytestmark = pytest.mark.django_db

READS = {AuditEvent.Action.VIEW, AuditEvent.Action.LIST, AuditEvent.Action.EXPORT}

# Pages that show no patient's data, so they write no read row.
NO_PATIENT_DATA = {
    "home": "redirects each role to its home page",
    "healthz": "liveness check",
    "login": "sign-in form",
    "logout": "sign-out (POST)",
    "password_change": "the user's own password",
    "password_change_done": "confirmation",
    "patient-create": "an empty form for a new patient",
    "two-factor-manage": "the user's own second factor",
    "two-factor-setup": "the user's own second factor",
    "two-factor-verify": "the user's own second factor",
    "two-factor-backup-codes": "the user's own backup codes",
    "two-factor-new-codes": "the user's own backup codes",
    "two-factor-remove": "the user's own second factor",
    "session-ping": "keeps the session alive",
    "session-timeout": "the signed-out-for-inactivity page",
    "account-activate": "a new account's activation form",
    "account-activate-done": "confirmation",
    "clinic-staff-new": "an empty form for a new staff account",
    "account-link-shown": "the one-time activation link just made (no link in this walk)",
}

# Routes the walk cannot reach by GET, with the reason. Everything else must be reached.
NOT_WALKED = {
    "logout": "POST only; ends the walk",
    "healthz": "public, not linked from any page",
    "login": "a signed-in user is sent on to their home page",
    "initial-person-remove": "POST only (removes a person from the inventory)",
    "two-factor-verify": "only asked for when a second factor is set up",
    "session-timeout": "only shown once the session has ended",
    "account-activate": "needs the one-time token of an activation link",
}

PERSONAS = ("therapist", "clinic_admin", "patient_user")


@pytest.fixture
def record(therapist, patient):
    return crawl.full_record(therapist, patient)


def walk_as(user) -> crawl.Walk:
    client = Client()
    client.force_login(user)
    return crawl.walk(client)


def _record_ids(record, patient) -> list[uuid.UUID]:
    return [patient.public_id] + [row.public_id for row in record.values()]


def _reached_directly(route: crawl.Route, ids: list[uuid.UUID], user) -> list[crawl.Visit]:
    """GET a route no link reached, as `user`, with every public id of the record in its UUID slot."""
    slots = list(route.converters)
    if any(kind != "UUIDConverter" for kind in route.converters.values()) or len(slots) > 1:
        return []
    client = Client()
    client.force_login(user)
    visits = []
    for kwargs in [{}] if not slots else [{slots[0]: value} for value in ids]:
        url = reverse(route.name, kwargs=kwargs)
        last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        response = client.get(url)
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        body = raw.decode() if response.get("Content-Type", "").startswith("text/") else ""
        events = list(AuditEvent.objects.filter(id__gt=last_id))
        visits.append(crawl.Visit(url, route.name, response.status_code, events, "", "", body))
    return visits


def unaudited(visits: list[crawl.Visit], user, patient) -> list[str]:
    """Pages of `visits` that broke the rule, with what was missing."""
    problems = []
    for v in visits:
        if v.status != 200 or v.route in NO_PATIENT_DATA:
            continue
        reads = [e for e in v.events if e.action in READS and e.user_id == user.pk]
        if not reads:
            problems.append(f"{v.url}: no read row")
        elif patient.full_name in v.body and not any(e.patient_public_id == patient.public_id for e in reads):
            problems.append(f"{v.url}: shows {patient.full_name} but no read row names them")
    return problems


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_patient_data_page_writes_a_read_row_naming_the_patient(request, record, patient, persona):
    user = request.getfixturevalue(persona)
    visits = walk_as(user).visits
    pages = [v for v in visits if v.status == 200 and v.route not in NO_PATIENT_DATA]
    assert len(pages) >= 2, f"the walk found too little to be a test: {[v.url for v in visits]}"
    assert unaudited(visits, user, patient) == []


def test_every_route_is_walked_or_classified(request, record, patient, therapist, clinic_admin, patient_user):
    users = (therapist, clinic_admin, patient_user)
    reached: dict[str, set[int]] = {}
    for user in users:
        for visit in walk_as(user).visits:
            reached.setdefault(visit.route, set()).add(visit.status)
    unreached = []
    for route in crawl.routes():
        if route.name in reached or route.name in NOT_WALKED:
            continue
        # Not linked from any page the personas see: request it directly.
        statuses = {
            v.status for user in users for v in _reached_directly(route, _record_ids(record, patient), user)
        }
        if 200 in statuses or 405 in statuses:
            continue  # a page (audited in the test below) or a POST-only action
        unreached.append(f"{route.name} ({route.pattern}): {sorted(statuses) or 'not requestable'}")
    assert unreached == [], (
        "routes neither reached by the walk nor classified in NOT_WALKED: " + "; ".join(unreached)
    )


@pytest.mark.parametrize("persona", PERSONAS)
def test_unlinked_get_routes_write_a_read_row_too(request, record, patient, persona):
    """Pages no link leads to (reached by URL only) are held to the same rule."""
    user = request.getfixturevalue(persona)
    linked = {visit.route for visit in walk_as(user).visits}
    problems = []
    for route in crawl.routes():
        if route.name in linked or route.name in NO_PATIENT_DATA or route.name in NOT_WALKED:
            continue
        problems += unaudited(_reached_directly(route, _record_ids(record, patient), user), user, patient)
    assert problems == []


def test_a_list_records_each_patient_it_listed(client, therapist, patient, other_patient, record):
    second = factories.PatientFactory(clinic=therapist.clinic, therapist=therapist, given_name="Bea")
    factories.CourseFactory(patient=second)
    client.force_login(therapist)
    client.get(reverse("therapist-home"))
    listed = set(
        AuditEvent.objects.filter(action=AuditEvent.Action.LIST, user=therapist).values_list(
            "patient_public_id", flat=True
        )
    )
    assert listed == {patient.public_id, second.public_id}


def test_an_empty_list_still_leaves_one_row(client, therapist):
    client.force_login(therapist)
    client.get(reverse("therapist-home"))
    rows = AuditEvent.objects.filter(action=AuditEvent.Action.LIST, user=therapist)
    assert [(r.object_type, r.patient_public_id) for r in rows] == [("Patient", None)]
