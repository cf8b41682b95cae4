"""Course-level actions: complete, discontinue, revise the contract, move to the middle phase.

Each is a form page of the treating therapist (GET shows it, POST writes
through services.courses); clinic admins and patients get 403, other
therapists and clinics 404. A closed course refuses every action.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import AuditEvent, ContractRevision, Course
from sessions_app.services import courses as course_services
from tests import factories

pytestmark = pytest.mark.django_db

ACTIONS = ["course-complete", "course-discontinue", "course-revise-contract", "course-middle-phase"]
FUTURE = (dt.date.today() + dt.timedelta(days=30)).isoformat()
TODAY = timezone.localdate


def action_url(name: str, course) -> str:
    return reverse(name, kwargs={"public_id": course.public_id})


def signed_in(client, user):
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def hold_sessions(course, n: int) -> None:
    for number in range(1, n + 1):
        factories.TherapySessionFactory(course=course, number=number)


VALID = {
    "course-complete": {
        "end_date": "2026-11-20",
        "continuation_decision": "maintenance",
        "end_reason": "Early, agreed",
    },
    "course-discontinue": {"end_date": "2026-11-20", "end_reason": "Moved away"},
    "course-revise-contract": {"planned_sessions": "14", "reason": "Two sessions lost to illness"},
    "course-middle-phase": {"reason": "Patient wants to start the work"},
}


# --- Access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ACTIONS)
def test_treating_therapist_opens_each_action(client, therapist, course, name):
    response = signed_in(client, therapist).get(action_url(name, course))
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="view", object_type="Course").exists()


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize(
    ("persona", "status"),
    [("clinic_admin", 403), ("patient_user", 403), ("other_therapist", 404), ("other_clinic_admin", 404)],
)
def test_others_cannot_use_an_action(client, request, course, name, persona, status):
    signed_in(client, request.getfixturevalue(persona))
    assert client.get(action_url(name, course)).status_code == status
    assert client.post(action_url(name, course), VALID[name]).status_code == status
    course.refresh_from_db()
    assert (course.status, course.planned_sessions, course.middle_phase_started_on) == ("active", 12, None)
    assert not ContractRevision.objects.exists()


@pytest.mark.parametrize("name", ACTIONS)
def test_anonymous_is_sent_to_login(client, course, name):
    response = client.post(action_url(name, course), VALID[name])
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", ACTIONS)
def test_actions_answer_only_get_and_post(client, therapist, course, name):
    assert signed_in(client, therapist).put(action_url(name, course)).status_code == 405


@pytest.mark.parametrize("name", ACTIONS)
def test_a_closed_course_refuses_every_action(client, therapist, course, name):
    course.status = Course.Status.COMPLETED
    course.end_date = dt.date(2026, 11, 1)
    course.save()
    response = signed_in(client, therapist).post(action_url(name, course), VALID[name], follow=True)
    assert "it can no longer be changed" in " ".join(messages_of(response))
    course.refresh_from_db()
    assert (course.end_date, course.planned_sessions, course.middle_phase_started_on) == (
        dt.date(2026, 11, 1),
        12,
        None,
    )


def test_malformed_course_id_is_404(client, therapist):
    assert signed_in(client, therapist).get("/courses/not-a-uuid/complete/").status_code == 404


# --- Complete -------------------------------------------------------------------------------------


def test_complete_after_the_last_planned_session_needs_no_reason(client, therapist, course):
    hold_sessions(course, 12)
    response = signed_in(client, therapist).post(
        action_url("course-complete", course), {"end_date": "2026-11-20", "continuation_decision": "none"}
    )
    assert response.url == course.get_absolute_url()
    course.refresh_from_db()
    assert (course.status, course.end_date, course.continuation_decision, course.end_reason) == (
        "completed",
        dt.date(2026, 11, 20),
        "none",
        "",
    )
    assert AuditEvent.objects.filter(action="update", object_type="Course").exists()


def test_complete_early_with_a_reason(client, therapist, course):
    hold_sessions(course, 9)
    response = signed_in(client, therapist).post(
        action_url("course-complete", course), VALID["course-complete"]
    )
    assert response.status_code == 302
    course.refresh_from_db()
    assert (course.status, course.end_reason, course.continuation_decision) == (
        "completed",
        "Early, agreed",
        "maintenance",
    )


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"end_reason": ""}, "end_reason", "This field is required."),
        ({"continuation_decision": ""}, "continuation_decision", "This field is required."),
        (
            {"continuation_decision": "cure"},
            "continuation_decision",
            "Select a valid choice. cure is not one of the available choices.",
        ),
        ({"end_date": ""}, "end_date", "This field is required."),
        ({"end_date": "soon"}, "end_date", "Enter a valid date."),
        ({"end_date": FUTURE}, "end_date", "This date is in the future."),
        (
            {"end_date": "2026-08-01"},
            "end_date",
            "The course started on 01 Sep 2026; it cannot end before that.",
        ),
    ],
)
def test_complete_errors(client, therapist, course, change, field, error):
    hold_sessions(course, 3)
    data = VALID["course-complete"] | {"end_reason": "Typed reason"} | change
    response = signed_in(client, therapist).post(action_url("course-complete", course), data)
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [error]
    assert response.context["form"]["end_reason"].value() == data["end_reason"]
    course.refresh_from_db()
    assert course.status == "active"


def test_complete_form_prefills_the_continuation_decided_in_termination(client, therapist, course):
    course.continuation_decision = Course.Continuation.REFERRAL
    course.save()
    form = signed_in(client, therapist).get(action_url("course-complete", course)).context["form"]
    assert form["continuation_decision"].value() == "referral"


def test_complete_warns_about_unsigned_notes(client, therapist, course):
    hold_sessions(course, 2)
    html = signed_in(client, therapist).get(action_url("course-complete", course)).content.decode()
    assert "2 session notes are not signed yet." in html


# --- Discontinue ----------------------------------------------------------------------------------


def test_discontinue_with_a_reason(client, therapist, course):
    response = signed_in(client, therapist).post(
        action_url("course-discontinue", course), VALID["course-discontinue"]
    )
    assert response.url == course.get_absolute_url()
    course.refresh_from_db()
    assert (course.status, course.end_date, course.end_reason) == (
        "discontinued",
        dt.date(2026, 11, 20),
        "Moved away",
    )


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"end_reason": ""}, "end_reason", "This field is required."),
        ({"end_date": FUTURE}, "end_date", "This date is in the future."),
        ({"end_date": "2026-02-30"}, "end_date", "Enter a valid date."),
    ],
)
def test_discontinue_errors(client, therapist, course, change, field, error):
    data = VALID["course-discontinue"] | change
    response = signed_in(client, therapist).post(action_url("course-discontinue", course), data)
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [error]
    assert response.context["form"]["end_reason"].value() == data["end_reason"]
    course.refresh_from_db()
    assert course.status == "active"


# --- Revise the contract --------------------------------------------------------------------------


def test_revising_the_contract_records_the_revision(client, therapist, course):
    response = signed_in(client, therapist).post(
        action_url("course-revise-contract", course), VALID["course-revise-contract"], follow=True
    )
    assert "Contract revised: 12 → 14 planned sessions." in messages_of(response)
    course.refresh_from_db()
    assert course.planned_sessions == 14
    revision = ContractRevision.objects.get()
    assert (revision.course, revision.previous_planned_sessions, revision.planned_sessions) == (
        course,
        12,
        14,
    )
    assert (revision.reason, revision.revised_by, revision.revised_on) == (
        "Two sessions lost to illness",
        therapist,
        TODAY(),
    )
    assert AuditEvent.objects.filter(action="create", object_type="ContractRevision").exists()
    assert "Two sessions lost to illness" in response.content.decode()  # listed on the course page


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        (
            {"planned_sessions": "17"},
            "planned_sessions",
            "Select a valid choice. 17 is not one of the available choices.",
        ),
        (
            {"planned_sessions": "11"},
            "planned_sessions",
            "Select a valid choice. 11 is not one of the available choices.",
        ),
        (
            {"planned_sessions": "lots"},
            "planned_sessions",
            "Select a valid choice. lots is not one of the available choices.",
        ),
        ({"planned_sessions": "12"}, "planned_sessions", "The course already plans this many sessions."),
        (
            {"planned_sessions": "13"},
            "planned_sessions",
            "14 sessions have already been held: plan at least that many.",
        ),
        ({"reason": ""}, "reason", "This field is required."),
    ],
)
def test_revise_contract_errors(client, therapist, course, change, field, error):
    if "13" in change.values():
        hold_sessions(course, 14)
    data = VALID["course-revise-contract"] | change
    response = signed_in(client, therapist).post(action_url("course-revise-contract", course), data)
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [error]
    assert response.context["form"]["reason"].value() == data["reason"]
    course.refresh_from_db()
    assert course.planned_sessions == 12
    assert not ContractRevision.objects.exists()


# --- Move to the middle phase ---------------------------------------------------------------------


def test_moving_on_early_needs_a_reason(client, therapist, course):
    signed_in(client, therapist)
    page = client.get(action_url("course-middle-phase", course))
    assert "Interpersonal inventory" in page.content.decode()  # the missing tasks are listed
    response = client.post(action_url("course-middle-phase", course), {"reason": ""})
    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["This field is required."]
    course.refresh_from_db()
    assert course.middle_phase_started_on is None


def test_moving_on_early_with_a_reason(client, therapist, course):
    response = signed_in(client, therapist).post(
        action_url("course-middle-phase", course), VALID["course-middle-phase"]
    )
    assert response.url == course.get_absolute_url()
    course.refresh_from_db()
    assert course.middle_phase_started_on == TODAY()
    assert course.middle_phase_override_reason == "Patient wants to start the work"
    assert course.default_phase_for(3) == "middle"


def complete_initial_tasks(course) -> None:
    course.psychoeducation_on = course.formulation_shared_on = course.contract_date = dt.date(2026, 9, 8)
    course.formulation = "F"
    course.formulation_agreed = True
    course.save()
    course.patient.medication_reviewed_on = dt.date(2026, 9, 1)
    course.patient.save()
    factories.MeasureResponseFactory(course=course)
    person = factories.RelationshipEntryFactory(course=course)
    factories.GoalFactory(focus=factories.RoleDisputeFocusFactory(course=course, person=person))


def test_with_every_initial_task_done_no_reason_is_needed(client, therapist, course):
    complete_initial_tasks(course)
    response = signed_in(client, therapist).post(action_url("course-middle-phase", course), {"reason": ""})
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.middle_phase_started_on == TODAY()
    assert course.middle_phase_override_reason == ""


def test_already_in_the_middle_phase(client, therapist, course):
    course.middle_phase_started_on = dt.date(2026, 9, 20)
    course.save()
    response = signed_in(client, therapist).post(
        action_url("course-middle-phase", course), VALID["course-middle-phase"]
    )
    assert response.url == course.get_absolute_url()
    course.refresh_from_db()
    assert course.middle_phase_started_on == dt.date(2026, 9, 20)


# --- Services refuse on their own, whatever the caller --------------------------------------------


def test_services_refuse_a_closed_course(course, therapist):
    course.status = Course.Status.DISCONTINUED
    course.save()
    with pytest.raises(course_services.CourseClosed):
        course_services.course_complete(
            course=course, end_date=TODAY(), continuation_decision="none", reason="x"
        )
    with pytest.raises(course_services.CourseClosed):
        course_services.course_contract_revise(
            course=course, planned_sessions=14, reason="x", by=therapist, on=TODAY()
        )
    with pytest.raises(course_services.CourseClosed):
        course_services.course_psychoeducation_record(course=course, on=TODAY())


def test_services_enforce_the_reasons(course, therapist):
    with pytest.raises(ValidationError, match="give the reason for completing now"):
        course_services.course_complete(
            course=course, end_date=TODAY(), continuation_decision="none", reason=" "
        )
    with pytest.raises(ValidationError, match="Choose what happens after the course"):
        course_services.course_complete(course=course, end_date=TODAY(), continuation_decision="", reason="x")
    with pytest.raises(ValidationError, match="reason for discontinuing"):
        course_services.course_discontinue(course=course, end_date=TODAY(), reason="")
    with pytest.raises(ValidationError, match="reason for revising"):
        course_services.course_contract_revise(
            course=course, planned_sessions=14, reason="", by=therapist, on=TODAY()
        )
    with pytest.raises(ValidationError, match="give the reason for moving on"):
        course_services.course_middle_phase_start(course=course, on=TODAY(), reason="")
    course.refresh_from_db()
    assert (course.status, course.planned_sessions, course.middle_phase_started_on) == ("active", 12, None)


def test_revision_service_keeps_planned_sessions_in_range(course, therapist):
    with pytest.raises(ValidationError):
        course_services.course_contract_revise(
            course=course, planned_sessions=17, reason="x", by=therapist, on=TODAY()
        )
    course.refresh_from_db()
    assert course.planned_sessions == 12
    assert not ContractRevision.objects.exists()
