"""The caseload CSV export (/clinic/export/): content, filters, formula safety, no free text, audit, scope."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sessions_app import caseload
from sessions_app.models import AuditEvent, Course
from tests import caseload_data as data
from tests import factories

pytestmark = pytest.mark.django_db

EXPORT = reverse("clinic-export")


@pytest.fixture
def foreign_therapist(other_clinic):
    return factories.TherapistFactory(clinic=other_clinic, username="foreign-therapist")


@pytest.fixture
def courses(therapist, other_therapist, foreign_therapist):
    return data.build(therapist, other_therapist, foreign_therapist)


@pytest.fixture
def admin_client(client, clinic_admin):
    client.force_login(clinic_admin)
    return client


def export(client, **params) -> list[dict[str, str]]:
    response = client.get(EXPORT, params)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == list(caseload.CSV_HEADER)
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def families(rows) -> set[str]:
    return {row["Patient"].split()[-1] for row in rows}


def test_the_default_export_is_the_caseload_of_the_period(admin_client, courses):
    rows = export(admin_client)
    # Active now, or ended in the last 12 months: not C6 (400 days ago), nothing of the other clinic.
    assert families(rows) == {courses[key].patient.family_name for key in data.EXPECTED_HEADLINE["caseload"]}
    assert len(rows) == 13


def test_a_row_holds_the_courses_figures(admin_client, courses, therapist):
    rows = {row["Patient"]: row for row in export(admin_client)}
    c1 = courses["C1"]
    assert rows[c1.patient.full_name] == {
        "Patient ID": str(c1.patient.public_id),
        "Patient": c1.patient.full_name,
        "Therapist": therapist.display_name,
        "Course ID": str(c1.public_id),
        "Status": "Completed",
        "Phase": "",
        "Sessions held": "2",
        "Sessions planned": "12",
        "Start date": c1.start_date.isoformat(),
        "End date": data.days_ago(30).isoformat(),
        "Last session": data.days_ago(35).isoformat(),
        "Primary problem area": "Grief",
        "Other problem areas": "",
        "PHQ-9 baseline": "20",
        "PHQ-9 latest": "8",
        "PHQ-9 change": "-12",  # a number, not text: left as it is
        "GAD-7 baseline": "",
        "GAD-7 latest": "",
        "GAD-7 change": "",
        "Overdue": "no",
        "Item 9 without risk check": "no",
        "Scores reliably worse": "no",
        "Notes unsigned over 48 hours": "2",
        "Past planned sessions": "no",
        "PHQ-9 response": "yes",
        "PHQ-9 remission": "no",
        "PHQ-9 reliable improvement": "yes",
        "PHQ-9 reliable deterioration": "no",
        "PHQ-9 recovery": "yes",
    }
    a2 = rows[courses["A2"].patient.full_name]
    assert (a2["Phase"], a2["Primary problem area"], a2["Other problem areas"]) == (
        "Initial",
        "Role dispute",
        "Role transition",
    )
    assert (
        a2["Item 9 without risk check"],
        a2["PHQ-9 baseline"],
        a2["PHQ-9 latest"],
        a2["PHQ-9 response"],
    ) == (
        "yes",
        "12",
        "",
        "",  # one score: no outcome yet
    )
    a1 = rows[courses["A1"].patient.full_name]
    assert (a1["Overdue"], a1["Scores reliably worse"], a1["GAD-7 change"]) == ("yes", "yes", "4")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"figure": "overdue"}, {"A1", "A4"}),
        ({"figure": "response"}, {"C1", "C2"}),
        ({"figure": "no_final"}, {"C4"}),
        ({"figure": "active", "phase": "maintenance"}, {"B2", "B3"}),
        ({"figure": "active", "area": "role_dispute"}, {"A2", "B1"}),
    ],
)
def test_the_export_follows_the_figure_and_filters(admin_client, courses, params, expected):
    assert families(export(admin_client, **params)) == {courses[key].patient.family_name for key in expected}


def test_the_export_follows_the_therapist_filter(admin_client, courses, other_therapist):
    rows = export(admin_client, therapist=str(other_therapist.public_id))
    assert families(rows) == {
        courses[key].patient.family_name for key in ("B1", "B2", "B3", "C3", "C4", "C5")
    }
    assert {row["Therapist"] for row in rows} == {other_therapist.display_name}


def test_every_list_links_its_own_export(admin_client, courses):
    response = admin_client.get(reverse("clinic-patients"), {"figure": "risk"})
    url = urlsplit(response.context["export_url"])
    assert url.path == EXPORT
    rows = export(admin_client, **dict(parse_qsl(url.query)))
    assert families(rows) == {courses[key].patient.family_name for key in ("A1", "A2", "B1")}


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_defused(admin_client, clinic):
    therapist = factories.TherapistFactory(clinic=clinic, first_name="@SUM(A1:A9)", last_name="Smith")
    for given in ('=HYPERLINK("http://evil.example","x")', "+1+1", "-2-2", "\tTab", "Plain"):
        data.make_course(therapist, "Formula", given=given, phq9=[(60, 20), (5, 8)])

    rows = export(admin_client)

    names = {row["Patient"] for row in rows}
    assert names == {
        '\'=HYPERLINK("http://evil.example","x") Formula',
        "'+1+1 Formula",
        "'-2-2 Formula",
        "'\tTab Formula",
        "Plain Formula",
    }
    assert {row["Therapist"] for row in rows} == {"'@SUM(A1:A9) Smith"}
    assert {row["PHQ-9 change"] for row in rows} == {"-12"}


@pytest.mark.parametrize(
    ("value", "safe"),
    [("=1+2", "'=1+2"), ("+x", "'+x"), ("-x", "'-x"), ("@x", "'@x"), ("a=b", "a=b"), (-3, -3), ("", "")],
)
def test_csv_safe(value, safe):
    assert caseload.csv_safe(value) == safe


def test_no_free_text_is_exported(admin_client, therapist):
    course = data.make_course(
        therapist,
        "Marked",
        formulation="FORMULATION-MARKER",
        gains="GAINS-MARKER",
        coping_plan="COPING-PLAN-MARKER",
        relapse_warning_signs="WARNING-SIGNS-MARKER",
        end_reason="END-REASON-MARKER",
        middle_phase_override_reason="OVERRIDE-MARKER",
    )
    factories.TherapySessionFactory(
        course=course,
        number=1,
        date=data.days_ago(3),
        private_note="PRIVATE-NOTE-MARKER",
        risk_action_taken="RISK-NARRATIVE-MARKER",
        safety_plan="SAFETY-PLAN-MARKER",
        events_since_last="EVENTS-MARKER",
        task_text="TASK-MARKER",
        phase_override_reason="PHASE-REASON-MARKER",
    )
    focus = factories.ProblemAreaFocusFactory(course=course, rationale="RATIONALE-MARKER")
    factories.GoalFactory(focus=focus, text="GOAL-MARKER")
    course.patient.presenting_concerns = "CONCERNS-MARKER"
    course.patient.medication = "MEDICATION-MARKER"
    course.patient.save()

    response = admin_client.get(EXPORT)

    body = response.content.decode()
    assert "Marked" in body
    assert "MARKER" not in body


def test_every_export_is_audited_per_patient(admin_client, clinic_admin, courses):
    rows = export(admin_client, figure="overdue")

    events = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT)
    assert {e.patient_public_id for e in events} == {courses[key].patient.public_id for key in ("A1", "A4")}
    assert len(rows) == events.count() == 2
    for event in events:
        assert (event.user, event.username, event.clinic_id, event.path, event.object_type) == (
            clinic_admin,
            clinic_admin.username,
            clinic_admin.clinic_id,
            EXPORT,
            "Course",
        )


def test_an_empty_export_is_audited_too(admin_client):
    assert export(admin_client) == []
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.patient_public_id is None


def test_bad_filters_export_nothing_and_say_why(admin_client, courses):
    response = admin_client.get(EXPORT, {"figure": "overdue", "from": "not-a-date"})

    assert response.status_code == 302
    assert response.url.startswith(reverse("clinic-patients"))
    assert "from=not-a-date" in response.url  # nothing typed is lost
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()
    html = admin_client.get(response.url).content.decode()
    assert "Nothing was exported" in html
    assert "is not a date" in html
    assert 'value="not-a-date"' in html


def test_the_file_is_named_for_what_it_holds(admin_client):
    response = admin_client.get(EXPORT, {"figure": "phase:middle"})
    assert response["Content-Disposition"] == (
        f'attachment; filename="caseload-phase-middle-{data.today():%Y-%m-%d}.csv"'
    )


def test_another_clinics_admin_exports_only_their_own(client, courses, other_clinic_admin):
    client.force_login(other_clinic_admin)
    rows = export(client)
    assert families(rows) == {"Outsider", "Stranger"}


# Reading for the export: session, user, therapists, the courses (one query); outcome figures
# read the completed courses' scores first and then the courses by key. The audit rows (one per
# patient) go in with bulk INSERTs: one on PostgreSQL up to 500 patients, one per ~90 on SQLite,
# whose statements take at most 999 parameters.
EXPORT_READS = 4
OUTCOME_EXPORT_READS = 5


def reads_and_inserts(client, **params) -> tuple[int, set[str], str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(EXPORT, params)
    assert response.status_code == 200
    statements = [q["sql"] for q in ctx.captured_queries]
    inserts = {sql.split(" (")[0] for sql in statements if sql.startswith("INSERT")}
    reads = [sql for sql in statements if sql.startswith("SELECT")]
    assert len(reads) + sum(sql.startswith("INSERT") for sql in statements) == len(statements)
    return len(reads), inserts, response.content.decode()


@pytest.mark.parametrize("n", [10, 200])
def test_export_reads_a_fixed_number_of_queries(admin_client, therapist, other_therapist, n):
    for i in range(n):
        done = i % 2 == 0
        data.make_course(
            [therapist, other_therapist][i % 2],
            f"Grow{i:04d}",
            status=Course.Status.COMPLETED if done else Course.Status.ACTIVE,
            end_days_ago=10 if done else None,
            phq9=[(60, 20), (10, 4)],
        )
    reads, inserts, body = reads_and_inserts(admin_client)
    assert (reads, inserts) == (EXPORT_READS, {'INSERT INTO "sessions_app_auditevent"'})
    assert body.count("\n") == n + 1
    reads, inserts, body = reads_and_inserts(admin_client, figure="response")
    assert (reads, inserts) == (OUTCOME_EXPORT_READS, {'INSERT INTO "sessions_app_auditevent"'})
    assert body.count("\n") == len(range(0, n, 2)) + 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == n + len(range(0, n, 2))
