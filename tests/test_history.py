"""The course's change history: who changed which field from what to what, and when.

For the treating therapist (everything) and the clinic admin (private values
hidden: only that they changed); 403 to other therapists and patients, 404
out of scope. Fixed query count at any number of changes.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import AuditEvent, Course, TherapySession
from tests import factories

pytestmark = pytest.mark.django_db


def url(course) -> str:
    return reverse("course-history", kwargs={"public_id": course.public_id})


def signed_in(client, user):
    client.force_login(user)
    return client


def entries(response) -> list:
    return list(response.context["page"].object_list)


def changes(response) -> dict[str, tuple[str, str, bool]]:
    """The latest change of each record and field."""
    found: dict[str, tuple[str, str, bool]] = {}
    for e in entries(response):  # newest first
        for c in e.changes:
            found.setdefault(f"{e.record} / {c.label}", (c.old, c.new, c.hidden))
    return found


@pytest.fixture
def edited(course, therapist):
    """A session whose note, risk check and task were edited, and a course whose formulation was."""
    session = factories.TherapySessionFactory(course=course, number=1, private_note="First thoughts")
    session.private_note = "Second thoughts"
    session.safety_plan = "Call the crisis line"
    session.task_text = "Phone my sister"
    session.save()
    course.formulation = "Depression since retirement"
    course.save()
    course.formulation = "Depression since retirement; a role transition"
    course.planned_sessions = 14
    course.save()
    return session


# --- Who may read it ---------------------------------------------------------------------------


def test_the_treating_therapist_sees_every_change_with_values(client, therapist, course, edited):
    response = signed_in(client, therapist).get(url(course))
    assert response.status_code == 200
    found = changes(response)
    assert found["Session 1 / Private note"] == ("First thoughts", "Second thoughts", False)
    assert found["Session 1 / Safety plan"] == ("—", "Call the crisis line", False)
    assert found["Session 1 / Task details"] == ("—", "Phone my sister", False)
    assert found["Course / Planned sessions"] == ("12", "14", False)
    assert found["Course / Formulation"] == (
        "Depression since retirement",
        "Depression since retirement; a role transition",
        False,
    )


def test_the_clinic_admin_sees_that_private_fields_changed_but_not_their_values(
    client, clinic_admin, course, edited
):
    response = signed_in(client, clinic_admin).get(url(course))
    assert response.status_code == 200
    found = changes(response)
    assert found["Session 1 / Private note"] == ("", "", True)
    assert found["Session 1 / Safety plan"] == ("", "", True)
    assert found["Course / Formulation"] == ("", "", True)
    # Ordinary fields keep their values.
    assert found["Session 1 / Task details"] == ("—", "Phone my sister", False)
    assert found["Course / Planned sessions"] == ("12", "14", False)
    html = response.content.decode()
    for secret in ("thoughts", "crisis line", "retirement"):
        assert secret not in html


@pytest.mark.parametrize(("persona", "status"), [("other_therapist", 404), ("patient_user", 403)])
def test_other_therapists_and_patients_are_refused(client, request, course, persona, status):
    response = signed_in(client, request.getfixturevalue(persona)).get(url(course))
    assert response.status_code == status


def test_another_clinic_gets_a_404(client, other_clinic_admin, course):
    assert signed_in(client, other_clinic_admin).get(url(course)).status_code == 404


def test_it_is_get_only(client, therapist, course):
    assert signed_in(client, therapist).post(url(course)).status_code == 405


def test_reading_it_is_audited(client, clinic_admin, course, patient):
    signed_in(client, clinic_admin).get(url(course))
    row = AuditEvent.objects.get(action=AuditEvent.Action.VIEW)
    assert (row.object_type, row.object_id, row.patient_public_id) == (
        "CourseHistory",
        str(course.public_id),
        patient.public_id,
    )


def test_the_course_page_links_to_it_for_therapist_and_admin(client, therapist, clinic_admin, course):
    for user in (therapist, clinic_admin):
        html = signed_in(client, user).get(course.get_absolute_url()).content.decode()
        assert url(course) in html


# --- What it shows -------------------------------------------------------------------------------


def test_who_made_a_change_through_the_app_is_named(client, therapist, course):
    therapist.first_name, therapist.last_name = "Tess", "Ward"
    therapist.save()
    signed_in(client, therapist).post(
        reverse("course-discontinue", kwargs={"public_id": course.public_id}),
        {"end_date": (course.start_date + dt.timedelta(days=20)).isoformat(), "end_reason": "Moved away"},
    )
    assert Course.objects.get(pk=course.pk).status == Course.Status.DISCONTINUED
    response = client.get(url(course))
    [entry] = [e for e in entries(response) if e.kind == "changed" and e.record == "Course"]
    assert entry.who == "Tess Ward (therapist)"
    found = {c.label: (c.old, c.new) for c in entry.changes}
    assert found["Status"] == ("Active", "Discontinued")
    assert found["End reason"] == ("—", "Moved away")


def test_records_under_the_course_and_the_patient_are_included(client, therapist, course, patient):
    person = factories.RelationshipEntryFactory(course=course, name="Sam")
    focus = factories.ProblemAreaFocusFactory(course=course, person=person)
    goal = factories.GoalFactory(focus=focus, text="Call Sam weekly")
    goal.status = goal.Status.ACHIEVED
    goal.save()
    measure = factories.MeasureResponseFactory(course=course)
    measure.items = [0] * 9
    measure.save()
    patient.medication = "None"
    patient.save()
    person.closeness_ring = 1
    person.save()
    response = signed_in(client, therapist).get(url(course))
    found = changes(response)
    assert found["Goal: Call Sam weekly / Status"] == ("Working on it", "Achieved", False)
    assert found["Inventory: Sam / Closeness ring"] == ("2", "1", False)
    assert found["Patient record / Medication"] == ("Sertraline 50 mg daily", "None", False)
    assert found["PHQ-9 of 01 Sep 2026 / Total"][1] == "0"
    created = {e.record for e in entries(response) if e.kind == "created"}
    assert {"Course", "Patient record", "Inventory: Sam", "Goal: Call Sam weekly"} <= created
    assert any(r.startswith("Problem area:") for r in created)


def test_another_course_changes_are_not_listed(client, therapist, course, patient):
    other = factories.CourseFactory(patient=patient, start_date=course.start_date - dt.timedelta(days=400))
    other.planned_sessions = 16
    other.save()
    assert "Course / Planned sessions" not in changes(signed_in(client, therapist).get(url(course)))


def test_a_reassignment_names_both_therapists(client, clinic_admin, course, patient, other_therapist):
    patient.therapist = other_therapist
    patient.save()
    found = changes(signed_in(client, clinic_admin).get(url(course)))
    assert found["Patient record / Therapist"] == (
        course.therapist.display_name,
        other_therapist.display_name,
        False,
    )


def test_signing_shows_who_signed_and_when(client, therapist, course):
    session = factories.TherapySessionFactory(course=course, number=1)
    session.signed_at, session.signed_by = timezone.now(), therapist
    session.save()
    found = changes(signed_in(client, therapist).get(url(course)))
    assert found["Session 1 / Signed by"] == ("—", therapist.display_name, False)


def test_a_bad_page_number_is_explained(client, therapist, course):
    response = signed_in(client, therapist).get(url(course), {"page": "x"})
    assert response.status_code == 200
    assert "There is no page “x”: showing page 1." in response.content.decode()


# --- Query count ---------------------------------------------------------------------------------


def build_changes(course, n: int) -> None:
    for i in range(1, n + 1):
        session = factories.TherapySessionFactory(course=course, number=i)
        session.task_text = f"Task {i}"
        session.save()
        factories.MeasureResponseFactory(course=course, session=session)
        person = factories.RelationshipEntryFactory(course=course, name=f"P{i}")
        person.closeness_ring = 3
        person.save()
    course.planned_sessions = 16
    course.save()


# The session, the user, the course (patient and therapist joined), one query per history table
# (patient, course, problem areas, inventory, goals, sessions, questionnaires), the clinic's staff
# names, the VIEW audit row, the clinic name in the header.
QUERIES = 3 + 7 + 3


@pytest.mark.parametrize("n", [1, 12])
@pytest.mark.parametrize("persona", ["therapist", "clinic_admin"])
def test_query_count_is_fixed(client, request, course, django_assert_num_queries, n, persona):
    build_changes(course, n)
    signed_in(client, request.getfixturevalue(persona))
    with django_assert_num_queries(QUERIES):
        response = client.get(url(course))
    assert response.status_code == 200 and len(entries(response)) > n


def test_unchanged_saves_make_no_entry(client, therapist, course):
    session = factories.TherapySessionFactory(course=course, number=1)
    TherapySession.objects.get(pk=session.pk).save()  # same values, only updated_at moves
    changed = [e for e in entries(signed_in(client, therapist).get(url(course))) if e.kind == "changed"]
    assert changed == []
