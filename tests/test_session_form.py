"""The session log form: new and edit pages, the phase rule, questionnaires, goals, termination.

Rules under test (issue 3, "Session log"): only the patient's treating
therapist writes (404 outside the scope, 403 for a clinic admin or a patient);
the course must be active; cancelled and no-show sessions are brief and take
no number; the phase is pre-filled from the rule and a change needs a reason;
PHQ-9 and GAD-7 are answered item by item (never a total); every bad input is
an error at its field with everything typed kept; the page runs a fixed number
of queries.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from sessions_app import ipt, measures
from sessions_app.models import AuditEvent, Course, GoalReview, MeasureResponse, TherapySession
from tests import factories

pytestmark = pytest.mark.django_db

Attendance = TherapySession.Attendance
TODAY = timezone.localdate()
PHQ9_MODERATE = [2, 2, 1, 2, 1, 1, 1, 1, 0]  # total 11, item 9 = 0


# --- Helpers (also used by test_session_sign and test_session_concurrency) ------------------------------


def post_data(
    *,
    on: dt.date | None = None,
    attendance: str = Attendance.ATTENDED,
    phase: str = ipt.Phase.INITIAL,
    phq9: list[int] | None = PHQ9_MODERATE,
    action: str = "save",
    submission_key: uuid.UUID | str | None = "new",
    **extra: Any,
) -> dict[str, Any]:
    """A complete, valid session form as the browser posts it."""
    data: dict[str, Any] = {
        "date": (on or TODAY).isoformat(),
        "duration_minutes": "50",
        "modality": TherapySession.Modality.IN_PERSON,
        "attendance": attendance,
        "phase": phase,
        "events_since_last": "Argued with Sam about the move; low for two days after.",
        "action": action,
    }
    if submission_key == "new":
        submission_key = uuid.uuid4()
    if submission_key is not None:
        data["submission_key"] = str(submission_key)
    if phq9 is not None:
        data["phq9-taken"] = "on"
        data |= {f"phq9-item_{n}": str(v) for n, v in enumerate(phq9, start=1)}
    data.update(extra)
    return data


def edit_data(session: TherapySession, **kwargs: Any) -> dict[str, Any]:
    """A valid edit form for `session`, carrying its current version."""
    kwargs.setdefault("on", session.date)
    kwargs.setdefault("phase", session.phase)
    kwargs.setdefault("submission_key", None)
    data = post_data(**kwargs)
    data.setdefault("version", str(session.version))
    return data


def new_url(course: Course) -> str:
    return reverse("session-create", kwargs={"public_id": course.public_id})


def edit_url(session: TherapySession) -> str:
    return reverse("session-edit", kwargs={"public_id": session.public_id})


def field_errors(response, field: str, form: str = "main") -> list[str]:
    return list(getattr(response.context["form"], form).errors.get(field, []))


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def course(patient):
    """An active 12-session course that started ten weeks ago."""
    return factories.CourseFactory(patient=patient, start_date=TODAY - dt.timedelta(weeks=10))


@pytest.fixture
def signed_in(client, therapist):
    client.force_login(therapist)
    return client


def add_attended(course: Course, count: int, **kwargs: Any) -> list[TherapySession]:
    """`count` signed attended sessions, one a week from the course start."""
    return [
        factories.SignedTherapySessionFactory(
            course=course, number=n, date=course.start_date + dt.timedelta(weeks=n - 1), **kwargs
        )
        for n in range(1, count + 1)
    ]


# --- New session: the page ----------------------------------------------------------------------------


def test_new_session_page_prefills_the_phase_and_shows_the_phq9_item_by_item(signed_in, course):
    response = signed_in.get(new_url(course))

    assert response.status_code == 200
    form = response.context["form"]
    assert form.main["phase"].value() == ipt.Phase.INITIAL
    assert form.main["date"].value() == TODAY
    assert form.phq9["taken"].value() is True  # every session by default
    assert form.gad7["taken"].value() is False  # optional
    body = response.content.decode()
    for text in measures.ITEMS[measures.Instrument.PHQ9]:
        assert escape(text) in body
    for _, answer in measures.ANSWERS:
        assert answer in body
    assert 'type="radio" class="form-check-input"  name="phq9-item_9" value="3"' in body
    assert 'name="submission_key"' in body
    assert "phq9-total" not in body  # a total is never typed


def test_new_session_page_prefills_the_phase_of_the_next_number(signed_in, course):
    add_attended(course, 4)  # the next is session 5: middle phase of 12
    factories.CancelledTherapySessionFactory(course=course, date=course.start_date + dt.timedelta(days=30))

    response = signed_in.get(new_url(course))

    assert response.context["form"].main["phase"].value() == ipt.Phase.MIDDLE
    assert response.context["page"].next_number == 5
    assert "this is session 5 of 12" in response.content.decode()


def test_new_session_page_offers_the_strategies_of_the_course_areas_only(signed_in, course):
    factories.ProblemAreaFocusFactory(course=course, area=ipt.ProblemArea.ROLE_TRANSITION)

    form = signed_in.get(new_url(course)).context["form"]

    offered = {code for code, _ in form.main.fields["strategies"].choices}
    assert offered == {code for code, _ in ipt.AREA_GUIDES[ipt.ProblemArea.ROLE_TRANSITION].strategies}
    assert "dispute_stage" not in form.main.fields  # no role dispute in this course


def test_new_session_page_has_dispute_stage_for_a_role_dispute(signed_in, course):
    factories.RoleDisputeFocusFactory(course=course)

    form = signed_in.get(new_url(course)).context["form"]

    assert "dispute_stage" in form.main.fields
    assert form.main["dispute_stage"].value() == ipt.DisputeStage.RENEGOTIATION  # the stage so far
    offered = {code for code, _ in form.main.fields["strategies"].choices}
    assert "dispute_communication_analysis" in offered


def test_new_session_page_lists_inventory_people_and_active_goals(signed_in, course, other_course):
    sam = factories.RelationshipEntryFactory(course=course, name="Sam")
    late = factories.RelationshipEntryFactory(course=course, name="Grandad", is_deceased=True)
    factories.RelationshipEntryFactory(course=other_course, name="Stranger")
    focus = factories.ProblemAreaFocusFactory(course=course)
    active = factories.GoalFactory(focus=focus, text="Tell Sam what I need")
    factories.GoalFactory(focus=focus, text="Old goal", status="dropped")

    response = signed_in.get(new_url(course))

    form = response.context["form"]
    assert {pk for pk, _ in form.main.fields["people_discussed"].choices} == {sam.pk, late.pk}
    # A person who died cannot attend a joint session.
    assert {pk for pk, _ in form.main.fields["joint_attendees"].choices} == {sam.pk}
    assert [f.goal for f in form.goal_reviews] == [active]
    assert "Stranger" not in response.content.decode()


def test_new_session_page_shows_the_last_task(signed_in, course):
    add_attended(course, 1, task_type="journal", task_text="Note each time I hold back with Sam")

    response = signed_in.get(new_url(course))

    assert "Note each time I hold back with Sam" in response.content.decode()


def test_new_session_page_records_a_view(signed_in, course, therapist):
    signed_in.get(new_url(course))

    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW)
    assert (event.user, event.object_id, event.patient_public_id) == (
        therapist,
        str(course.public_id),
        course.patient.public_id,
    )


# --- New session: happy paths ---------------------------------------------------------------------------


def test_saving_a_draft_creates_a_numbered_session_with_its_phq9(signed_in, course, therapist):
    response = signed_in.post(new_url(course), post_data())

    session = TherapySession.objects.get(course=course)
    assert response.status_code == 302
    assert response.url == session.get_absolute_url()
    assert (session.number, session.phase, session.attendance) == (1, ipt.Phase.INITIAL, Attendance.ATTENDED)
    assert session.signed_at is None
    assert session.version == 1
    phq9 = MeasureResponse.objects.get(session=session)
    assert (phq9.total, phq9.band, phq9.item9_positive) == (11, measures.Band.MODERATE, False)
    assert (phq9.patient, phq9.course, phq9.taken_on, phq9.recorded_by) == (
        course.patient,
        course,
        session.date,
        therapist,
    )
    assert "Session 1" in message_texts(response)[0]
    assert list(AuditEvent.objects.filter(object_id=session.public_id).values_list("action", flat=True)) == [
        AuditEvent.Action.CREATE
    ]


def test_a_session_records_every_part_of_the_form(signed_in, course):
    add_attended(course, 4)
    sam = factories.RelationshipEntryFactory(course=course, name="Sam", relationship="partner")
    mum = factories.RelationshipEntryFactory(course=course, name="Mum", relationship="parent")
    focus = factories.RoleDisputeFocusFactory(course=course, person=sam)
    goal = factories.GoalFactory(focus=focus, text="Tell Sam what I need")
    skipped = factories.GoalFactory(focus=focus, text="Sleep better")
    data = post_data(
        on=TODAY - dt.timedelta(days=1),
        phase=ipt.Phase.MIDDLE,
        people_discussed=[sam.pk, mum.pk],
        joint_attendees=[sam.pk],
        foci=[focus.pk],
        strategies=["dispute_expectations", "dispute_communication_analysis"],
        dispute_stage=ipt.DisputeStage.IMPASSE,
        techniques=["communication_analysis", "role_play"],
        task_type="communication_practice",
        task_text="Ask Sam for one evening a week",
        last_task_outcome="partly",
        private_note="Seemed guarded about Mum.",
        **{
            "gad7-taken": "on",
            **{f"gad7-item_{n}": "1" for n in range(1, 8)},
            "gad7-difficulty": "2",
            f"goal-{goal.public_id}-progress": GoalReview.Progress.SOME,
            f"goal-{goal.public_id}-note": "Asked once, felt heard.",
        },
    )

    response = signed_in.post(new_url(course), data)

    assert response.status_code == 302
    session = TherapySession.objects.get(course=course, number=5)
    assert set(session.people_discussed.all()) == {sam, mum}
    assert list(session.joint_attendees.all()) == [sam]
    assert list(session.foci.all()) == [focus]
    assert session.strategies == ["dispute_expectations", "dispute_communication_analysis"]
    assert session.techniques == ["communication_analysis", "role_play"]
    assert session.dispute_stage == ipt.DisputeStage.IMPASSE
    assert (session.task_type, session.task_text, session.last_task_outcome) == (
        "communication_practice",
        "Ask Sam for one evening a week",
        "partly",
    )
    assert session.private_note == "Seemed guarded about Mum."
    gad7 = MeasureResponse.objects.get(session=session, instrument=measures.Instrument.GAD7)
    assert (gad7.total, gad7.difficulty) == (7, 2)
    review = GoalReview.objects.get(session=session)
    assert (review.goal, review.progress, review.note) == (goal, "some", "Asked once, felt heard.")
    assert not GoalReview.objects.filter(goal=skipped).exists()  # optional per goal


@pytest.mark.parametrize("attendance", [Attendance.CANCELLED, Attendance.NO_SHOW])
def test_cancelled_and_no_show_sessions_are_brief_and_unnumbered(signed_in, course, attendance):
    add_attended(course, 2)
    # Everything but the brief fields is ignored, even malformed input in it.
    data = post_data(
        attendance=attendance,
        phase="not-a-phase",
        phq9=[9, 9],
        private_note="should not be kept",
        foci=["999999"],
        events_since_last="Rang to cancel: child ill.",
    )

    response = signed_in.post(new_url(course), data)

    assert response.status_code == 302
    session = TherapySession.objects.get(course=course, attendance=attendance)
    assert session.number is None
    assert session.events_since_last == "Rang to cancel: child ill."
    assert session.private_note == ""
    assert session.phase == course.default_phase_for(3)  # the phase the course is in
    assert not MeasureResponse.objects.filter(session=session).exists()


def test_session_numbers_skip_cancelled_and_no_show_sessions(signed_in, course):
    days = iter(range(20, 0, -1))

    def log(attendance: str) -> None:
        on = TODAY - dt.timedelta(days=next(days))
        response = signed_in.post(
            new_url(course), post_data(on=on, attendance=attendance, phase=ipt.Phase.INITIAL)
        )
        assert response.status_code == 302, response.context["form"].main.errors

    for attendance in ("attended", "cancelled", "attended", "no_show", "attended"):
        log(attendance)

    assert list(
        TherapySession.objects.filter(course=course).order_by("date").values_list("number", flat=True)
    ) == [
        1,
        None,
        2,
        None,
        3,
    ]


def test_changing_the_phase_with_a_reason_is_recorded(signed_in, course):
    data = post_data(phase=ipt.Phase.MIDDLE, phase_override_reason="Initial tasks done in one long session.")

    assert signed_in.post(new_url(course), data).status_code == 302

    session = TherapySession.objects.get(course=course)
    assert (session.phase, session.phase_override_reason) == (
        ipt.Phase.MIDDLE,
        "Initial tasks done in one long session.",
    )


def test_a_reason_without_a_phase_change_is_dropped(signed_in, course):
    data = post_data(phase=ipt.Phase.INITIAL, phase_override_reason="Typed by mistake")

    signed_in.post(new_url(course), data)

    assert TherapySession.objects.get(course=course).phase_override_reason == ""


def test_termination_fields_are_written_to_the_course(signed_in, course):
    add_attended(course, 9)  # the next is session 10 of 12: termination
    data = post_data(
        phase=ipt.Phase.TERMINATION,
        **{
            "termination-ending_discussed_on": TODAY.isoformat(),
            "termination-feelings_about_ending": "Sad, and proud.",
            "termination-gains": "Spoke up to Sam; rejoined the choir.",
            "termination-relapse_warning_signs": "Cancelling plans.",
            "termination-coping_plan": "Ring a friend the same day.",
            "termination-continuation_decision": Course.Continuation.MAINTENANCE,
        },
    )

    response = signed_in.post(new_url(course), data)

    assert response.status_code == 302
    course.refresh_from_db()
    assert course.ending_discussed_on == TODAY
    assert course.feelings_about_ending == "Sad, and proud."
    assert course.gains == "Spoke up to Sam; rejoined the choir."
    assert course.relapse_warning_signs == "Cancelling plans."
    assert course.coping_plan == "Ring a friend the same day."
    assert course.continuation_decision == Course.Continuation.MAINTENANCE


def test_an_untouched_termination_section_leaves_the_course_alone(signed_in, course):
    course.gains = "Written in session 10"
    course.save()
    versions = course.history.count()
    data = post_data(**{"termination-gains": "Written in session 10"})

    assert signed_in.post(new_url(course), data).status_code == 302

    course.refresh_from_db()
    assert course.gains == "Written in session 10"
    assert course.history.count() == versions  # the session did not write the course


def test_termination_page_shows_the_progress_review(signed_in, course):
    add_attended(course, 9)
    for items, on in (([3, 3, 2, 2, 2, 2, 2, 1, 0], 60), ([1, 1, 0, 1, 0, 0, 0, 0, 0], 5)):
        factories.MeasureResponseFactory(course=course, items=items, taken_on=TODAY - dt.timedelta(days=on))

    response = signed_in.get(new_url(course))

    [row] = response.context["page"].progress_review
    assert (row["baseline"], row["latest"]) == (17, 3)
    assert row["outcome"] == measures.outcome(measures.Instrument.PHQ9, 17, 3)
    body = response.content.decode()
    assert "Response: yes" in body and "Remission: yes" in body and "Recovery: yes" in body
    assert response.context["termination_open"]


# --- Validation: each error at its field, everything typed kept ------------------------------------------


def assert_rejected(response, field: str, form: str = "main", text: str = "", existing: int = 0) -> None:
    assert response.status_code == 200
    errors = field_errors(response, field, form)
    assert errors, response.context["form"].main.errors
    if text:
        assert any(text in e for e in errors), errors
    body = response.content.decode()
    # What was typed is still in the page.
    assert escape("Argued with Sam about the move; low for two days after.") in body
    assert TherapySession.objects.count() == existing  # nothing saved


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"date": (TODAY + dt.timedelta(days=2)).isoformat()}, "date", "future"),
        ({"date": "2026-02-30"}, "date", "valid date"),
        ({"date": ""}, "date", "required"),
        ({"duration_minutes": "abc"}, "duration_minutes", "whole number"),
        ({"duration_minutes": "500"}, "duration_minutes", "240"),
        ({"duration_minutes": "0"}, "duration_minutes", "5"),
        ({"modality": "telepathy"}, "modality", "valid choice"),
        ({"attendance": "maybe"}, "attendance", "valid choice"),
        ({"phase": "finale"}, "phase", "valid choice"),
        ({"phase": ""}, "phase", "Choose the phase"),
        ({"phase": ipt.Phase.MIDDLE}, "phase_override_reason", "say why"),
        ({"phase": ipt.Phase.MIDDLE, "phase_override_reason": "   "}, "phase_override_reason", "say why"),
        ({"techniques": ["mind_reading"]}, "techniques", "valid choice"),
        ({"strategies": ["grief_express_feelings"]}, "strategies", "valid choice"),
        ({"foci": ["not-a-pk"]}, "foci", "valid value"),
        ({"people_discussed": ["999999"]}, "people_discussed", "valid choice"),
        ({"task_text": "Write a letter"}, "task_type", "type"),
        ({"task_type": "other"}, "task_text", "Describe"),
        ({"task_type": "homework"}, "task_type", "valid choice"),
        ({"last_task_outcome": "excellent"}, "last_task_outcome", "valid choice"),
        ({"safety_plan": "Call the crisis line"}, "risk_ideation", "ideation"),
        ({"risk_plan": "true"}, "risk_ideation", "ideation"),
        ({"risk_ideation": "severe"}, "risk_ideation", "valid choice"),
        ({"private_note": "x" * 10, "version": "not-an-int"}, "version", "whole number"),
    ],
)
def test_bad_session_fields_are_errors_at_the_field(signed_in, course, overrides, field, text):
    response = signed_in.post(new_url(course), post_data(**overrides))

    if field == "version":
        # A new-session form has no version field: the stray value is ignored.
        assert response.status_code == 302
        return
    assert_rejected(response, field, text=text)


def test_a_mangled_submission_key_is_replaced_so_the_retry_works(signed_in, course):
    response = signed_in.post(new_url(course), post_data(submission_key="not-a-uuid"))

    assert response.status_code == 200
    fresh = response.context["form"].main["submission_key"].value()
    uuid.UUID(str(fresh))  # a valid key again
    assert "could not be matched to its page" in response.content.decode()
    assert not TherapySession.objects.exists()

    retry = {**post_data(), "submission_key": str(fresh)}
    assert signed_in.post(new_url(course), retry).status_code == 302


def test_session_before_the_course_started_is_an_error(signed_in, course):
    response = signed_in.post(new_url(course), post_data(on=course.start_date - dt.timedelta(days=1)))

    assert_rejected(response, "date", text="course started")


def test_attended_session_dated_before_the_previous_one_is_an_error(signed_in, course):
    add_attended(course, 3)  # the third is two weeks after the start

    data = post_data(on=course.start_date + dt.timedelta(days=3), phase=ipt.Phase.MIDDLE)

    response = signed_in.post(new_url(course), data)

    assert_rejected(response, "date", text="Session 3", existing=3)


def test_people_and_foci_of_another_course_are_refused(signed_in, course, other_course):
    stranger = factories.RelationshipEntryFactory(course=other_course)
    their_focus = factories.ProblemAreaFocusFactory(course=other_course)

    for field, value in (
        ("people_discussed", stranger.pk),
        ("joint_attendees", stranger.pk),
        ("foci", their_focus.pk),
    ):
        response = signed_in.post(new_url(course), post_data(**{field: [value]}))
        assert_rejected(response, field, text="valid choice")


def test_a_deceased_person_cannot_attend_a_joint_session(signed_in, course):
    late = factories.RelationshipEntryFactory(course=course, is_deceased=True)

    response = signed_in.post(new_url(course), post_data(joint_attendees=[late.pk]))

    assert_rejected(response, "joint_attendees", text="valid choice")


@pytest.mark.parametrize(
    ("answers", "item", "text"),
    [
        ({"phq9-item_3": ""}, "item_3", "Answer item 3"),
        ({"phq9-item_9": "4"}, "item_9", "valid choice"),
        ({"phq9-item_1": "-1"}, "item_1", "valid choice"),
        ({"phq9-item_5": "two"}, "item_5", "valid choice"),
    ],
)
def test_phq9_item_missing_or_out_of_range_is_an_error_at_the_item(signed_in, course, answers, item, text):
    data = post_data()
    data.update(answers)
    if not answers.get(f"phq9-{item}", "x"):
        del data[f"phq9-{item}"]

    response = signed_in.post(new_url(course), data)

    assert_rejected(response, item, form="phq9", text=text)
    # The other answers are still selected.
    assert re.search(r'name="phq9-item_2" value="2"[^>]*checked', response.content.decode())


def test_phq9_answers_count_even_when_the_box_is_unticked(signed_in, course):
    data = post_data(phq9=[1, 1, 1, 1, 1])  # items 6–9 missing
    del data["phq9-taken"]

    response = signed_in.post(new_url(course), data)

    assert_rejected(response, "item_6", form="phq9", text="Answer item 6")


def test_phq9_can_be_left_out_by_unticking_it(signed_in, course):
    response = signed_in.post(new_url(course), post_data(phq9=None))

    assert response.status_code == 302
    assert not MeasureResponse.objects.exists()


def test_gad7_partly_answered_is_an_error(signed_in, course):
    response = signed_in.post(new_url(course), post_data(**{"gad7-item_1": "2"}))

    assert_rejected(response, "item_2", form="gad7", text="Answer item 2")
    assert response.context["gad7_open"]  # the GAD-7 section opens to show its errors


def test_a_total_in_the_post_is_ignored(signed_in, course):
    signed_in.post(new_url(course), post_data(**{"phq9-total": "27", "total": "27"}))

    assert MeasureResponse.objects.get().total == sum(PHQ9_MODERATE)


def test_goal_review_note_without_progress_is_an_error(signed_in, course):
    goal = factories.GoalFactory(focus=factories.ProblemAreaFocusFactory(course=course))
    prefix = f"goal-{goal.public_id}"

    response = signed_in.post(new_url(course), post_data(**{f"{prefix}-note": "Some change"}))

    assert response.status_code == 200
    [review_form] = response.context["form"].goal_reviews
    assert "Choose the progress" in review_form.errors["progress"][0]
    assert "Some change" in response.content.decode()


def test_goal_review_bad_progress_is_an_error(signed_in, course):
    goal = factories.GoalFactory(focus=factories.ProblemAreaFocusFactory(course=course))

    response = signed_in.post(new_url(course), post_data(**{f"goal-{goal.public_id}-progress": "lots"}))

    [review_form] = response.context["form"].goal_reviews
    assert "valid choice" in review_form.errors["progress"][0]
    assert not TherapySession.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        ("ending_discussed_on", (TODAY + dt.timedelta(days=5)).isoformat(), "future"),
        ("ending_discussed_on", "yesterday", "valid date"),
        ("continuation_decision", "forever", "valid choice"),
    ],
)
def test_bad_termination_fields_are_errors_at_the_field(signed_in, course, field, value, text):
    response = signed_in.post(new_url(course), post_data(**{f"termination-{field}": value}))

    assert_rejected(response, field, form="termination", text=text)
    assert response.context["termination_open"]


# --- Edit a draft -------------------------------------------------------------------------------------


@pytest.fixture
def draft(course):
    session = factories.TherapySessionFactory(course=course, number=1, date=TODAY - dt.timedelta(days=7))
    factories.MeasureResponseFactory(course=course, session=session, taken_on=session.date)
    return session


def test_edit_page_shows_the_draft_with_its_answers_and_version(signed_in, draft):
    response = signed_in.get(edit_url(draft))

    assert response.status_code == 200
    form = response.context["form"]
    assert form.main["version"].value() == 1
    assert form.phq9["item_1"].value() == 2
    assert form.phq9["taken"].value() is True


def test_editing_a_draft_saves_and_bumps_the_version(signed_in, draft):
    response = signed_in.post(edit_url(draft), edit_data(draft, phq9=[0] * 9, private_note="Edited"))

    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.version, draft.private_note, draft.number) == (2, "Edited", 1)
    assert MeasureResponse.objects.get(session=draft).total == 0
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE, object_id=draft.public_id).exists()


def test_unticking_the_phq9_on_a_draft_removes_it(signed_in, draft):
    signed_in.post(edit_url(draft), edit_data(draft, phq9=None))

    assert not MeasureResponse.objects.filter(session=draft).exists()


def test_edit_without_a_version_is_an_error_not_a_save(signed_in, draft):
    data = edit_data(draft, private_note="Edited")
    del data["version"]

    response = signed_in.post(edit_url(draft), data)

    assert response.status_code == 200
    assert "reload the page" in field_errors(response, "version")[0]
    draft.refresh_from_db()
    assert draft.private_note == ""


def test_edit_with_a_malformed_version_is_an_error(signed_in, draft):
    response = signed_in.post(edit_url(draft), edit_data(draft, version="1; DROP TABLE"))

    assert response.status_code == 200
    assert field_errors(response, "version")
    assert "Enter a whole number" in response.content.decode()


def test_a_draft_can_become_a_cancelled_record_when_nothing_follows_it(signed_in, draft):
    response = signed_in.post(edit_url(draft), edit_data(draft, attendance=Attendance.CANCELLED))

    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.number, draft.attendance) == (None, Attendance.CANCELLED)
    assert not MeasureResponse.objects.filter(session=draft).exists()


def test_an_earlier_draft_cannot_drop_its_number(signed_in, course, draft):
    factories.TherapySessionFactory(course=course, number=2, date=TODAY)

    response = signed_in.post(edit_url(draft), edit_data(draft, attendance=Attendance.CANCELLED))

    assert response.status_code == 200
    assert "Session 2" in field_errors(response, "attendance")[0]
    draft.refresh_from_db()
    assert draft.number == 1


def test_a_cancelled_draft_that_becomes_attended_takes_the_next_number(signed_in, course):
    add_attended(course, 2)
    cancelled = factories.CancelledTherapySessionFactory(course=course, date=TODAY - dt.timedelta(days=1))

    response = signed_in.post(
        edit_url(cancelled), edit_data(cancelled, attendance=Attendance.ATTENDED, phase=ipt.Phase.INITIAL)
    )

    assert response.status_code == 302
    cancelled.refresh_from_db()
    assert cancelled.number == 3


# --- Who may use the form ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    ("persona", "status"), [("other_therapist", 404), ("clinic_admin", 403), ("patient_user", 403)]
)
def test_only_the_treating_therapist_may_use_the_session_form(
    client, request, course, draft, method, persona, status
):
    client.force_login(request.getfixturevalue(persona))
    for url, data in ((new_url(course), post_data()), (edit_url(draft), edit_data(draft, private_note="x"))):
        response = getattr(client, method)(url, data if method == "post" else None)
        assert response.status_code == status, url
    assert TherapySession.objects.count() == 1
    draft.refresh_from_db()
    assert draft.private_note == ""


def test_another_clinics_admin_gets_404(client, other_clinic_admin, course, draft):
    client.force_login(other_clinic_admin)
    assert client.get(new_url(course)).status_code == 404
    assert client.post(edit_url(draft), edit_data(draft)).status_code == 404


def test_anonymous_users_are_sent_to_login(client, course, draft):
    for url in (new_url(course), edit_url(draft)):
        response = client.post(url, post_data())
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    assert TherapySession.objects.count() == 1


def test_unknown_course_or_session_is_404(signed_in):
    unknown = uuid.uuid4()
    assert signed_in.get(reverse("session-create", kwargs={"public_id": unknown})).status_code == 404
    assert signed_in.get(reverse("session-edit", kwargs={"public_id": unknown})).status_code == 404


def test_session_form_answers_only_get_and_post(signed_in, course, draft):
    assert signed_in.put(new_url(course)).status_code == 405
    assert signed_in.delete(edit_url(draft)).status_code == 405


@pytest.mark.parametrize("status", [Course.Status.COMPLETED, Course.Status.DISCONTINUED])
def test_a_closed_course_takes_no_sessions(signed_in, course, draft, status):
    Course.objects.filter(pk=course.pk).update(status=status)

    response = signed_in.post(new_url(course), post_data())
    assert response.status_code == 302
    assert response.url == course.get_absolute_url()
    assert "no new sessions" in message_texts(response)[0]

    response = signed_in.post(edit_url(draft), edit_data(draft, private_note="late"))
    assert response.url == draft.get_absolute_url()
    draft.refresh_from_db()
    assert (TherapySession.objects.count(), draft.private_note) == (1, "")


# --- Query counts ---------------------------------------------------------------------------------------


def _course_with_sessions(patient, count: int, *, last_draft: bool = False) -> Course:
    """`count` attended sessions with reviews of two goals; all signed, or all but the last."""
    course = factories.CourseFactory(
        patient=patient, planned_sessions=16, start_date=TODAY - dt.timedelta(weeks=count + 1)
    )
    focus = factories.RoleDisputeFocusFactory(course=course)
    for name in ("Sam", "Mum", "Jo"):
        factories.RelationshipEntryFactory(course=course, name=name)
    goals = [factories.GoalFactory(focus=focus, text=f"Goal {n}") for n in (1, 2)]
    sessions = add_attended(course, count - 1 if last_draft else count)
    if last_draft:
        # Built unsigned: a signed session cannot be turned back into a draft, not even by update().
        sessions.append(
            factories.TherapySessionFactory(
                course=course, number=count, date=course.start_date + dt.timedelta(weeks=count - 1)
            )
        )
    for session in sessions:
        # Signed rows refuse new children through save(); bulk_create builds history-free fixtures.
        GoalReview.objects.bulk_create(GoalReview(goal=g, session=session, progress="some") for g in goals)
    return course


# The new-session page, GET:
#   1 session, 2 user (the test client's login)
#   3 course (scoped, with patient and therapist)
#   4 latest attended session (its number and last task)
#   5 active goals (with focus and course)
#   6 course questionnaires (progress review)
#   7 foci  8 inventory people (form choices)
#   9 audit row
#  10 the user's clinic (base.html's header)
NEW_GET_QUERIES = 10


@pytest.mark.parametrize("sessions", [2, 16])
def test_new_session_get_runs_a_fixed_number_of_queries(
    client, therapist, patient, sessions, django_assert_num_queries
):
    course = _course_with_sessions(patient, sessions)
    client.force_login(therapist)

    with django_assert_num_queries(NEW_GET_QUERIES):
        response = client.get(new_url(course))

    assert response.status_code == 200


def _full_post(course: Course) -> dict[str, Any]:
    """Every part of the form filled in: questionnaires, links, goal reviews, termination."""
    people = list(course.relationships.all())
    focus = course.foci.get()
    extra: dict[str, Any] = {
        "gad7-taken": "on",
        **{f"gad7-item_{n}": "1" for n in range(1, 8)},
        "termination-gains": "Spoke up at work.",
    }
    for goal in focus.goals.all():
        extra |= {f"goal-{goal.public_id}-progress": "some", f"goal-{goal.public_id}-note": "Better"}
    return post_data(
        phase=course.default_phase_for(course.sessions.count() + 1),
        people_discussed=[p.pk for p in people],
        joint_attendees=[people[0].pk],
        foci=[focus.pk],
        strategies=["dispute_expectations"],
        dispute_stage=ipt.DisputeStage.IMPASSE,
        techniques=["role_play"],
        task_type="journal",
        task_text="Notice the arguments",
        **extra,
    )


# The new-session form, POST (a draft with every part filled in; the same on PostgreSQL,
# where the course lock is a real SELECT ... FOR UPDATE):
#    1–2  session, user
#    3–8  as on GET: course, latest attended session, goals, course scores, people and foci (choices)
#   9–11  posted foci / people discussed / joint attendees checked against the scoped querysets
#     12  SAVEPOINT (the service's transaction)
#  13–17  lock the course, submission key already used?, next number, numbered neighbours (2)
#  18–27  session full_clean: course exists, unique public id / submission key / number,
#         two check constraints (SAVEPOINT, check, RELEASE each)
#  28–32  SAVEPOINT, INSERT session, history row (+ its foci snapshot), RELEASE
#  33–39  foci: current links, existing rows, signed-session guard, INSERT, history (+ snapshot, links)
#  40–47  people discussed, joint attendees: current links, existing rows, signed guard, INSERT
#  48–77  PHQ-9 and GAD-7, 15 each: full_clean (4 FKs, unique id, 2 checks, once per session),
#         signed-session guard, INSERT, history row
#  78–89  two goal reviews, 6 each: full_clean (2 FKs, unique id, once per session), signed guard, INSERT
#  90–91  the course's termination field: UPDATE, history row
#  92–93  RELEASE, CREATE audit row
NEW_POST_QUERIES = 93


@pytest.mark.parametrize("sessions", [2, 16])
def test_new_session_post_runs_a_fixed_number_of_queries(
    client, therapist, patient, sessions, django_assert_num_queries
):
    course = _course_with_sessions(patient, sessions)
    if sessions >= course.planned_sessions:
        # Session 17 of a 16-session contract is only allowed as agreed maintenance.
        Course.objects.filter(pk=course.pk).update(continuation_decision=Course.Continuation.MAINTENANCE)
    data = _full_post(course)
    client.force_login(therapist)

    with django_assert_num_queries(NEW_POST_QUERIES):
        response = client.post(new_url(course), data)

    assert response.status_code == 302


def _latest_draft(course: Course) -> TherapySession:
    """The course's latest session (built as a draft), given a PHQ-9; it has a review of each goal."""
    latest = course.sessions.order_by("-number").first()
    assert not latest.is_signed
    factories.MeasureResponseFactory(course=course, session=latest, taken_on=latest.date)
    return latest


# The edit form, GET:
#    1–2  session, user
#      3  the session (scoped, with course, patient and therapist)
#    4–6  its foci, people discussed, joint attendees (prefetched)
#      7  the previous attended session (its task)
#      8  goals: active, or reviewed in this draft
#   9–10  its questionnaires, its goal reviews
#     11  course scores (progress review)
#  12–13  people and foci (choices)
#     14  VIEW audit row
#     15  the user's clinic (base.html's header)
EDIT_GET_QUERIES = 15


@pytest.mark.parametrize("sessions", [2, 16])
def test_edit_session_get_runs_a_fixed_number_of_queries(
    client, therapist, patient, sessions, django_assert_num_queries
):
    course = _course_with_sessions(patient, sessions, last_draft=True)
    draft = _latest_draft(course)
    client.force_login(therapist)

    with django_assert_num_queries(EDIT_GET_QUERIES):
        response = client.get(edit_url(draft))

    assert response.status_code == 200


# The edit form, POST (every part filled in; the draft had a PHQ-9 and both goal reviews):
#   1–13  as on GET up to the choices
#  14–16  posted foci / people discussed / joint attendees checked against the scoped querysets
#  17–21  SAVEPOINT, lock the course, lock the session, numbered neighbours (2)
#  22–30  full_clean: course exists, unique public id / number, two check constraints
#  31–34  signed-session guard, UPDATE, history row (+ its foci snapshot)
#  35–49  foci (7), people discussed (4), joint attendees (4), as on a new session
#  50–80  its questionnaires; PHQ-9 updated (15), GAD-7 added (15)
#  81–93  its goal reviews; two updated (6 each)
#  94–95  the course's termination field: UPDATE, history row
#  96–97  RELEASE, UPDATE audit row
EDIT_POST_QUERIES = 97


@pytest.mark.parametrize("sessions", [2, 16])
def test_edit_session_post_runs_a_fixed_number_of_queries(
    client, therapist, patient, sessions, django_assert_num_queries
):
    course = _course_with_sessions(patient, sessions, last_draft=True)
    draft = _latest_draft(course)
    data = _full_post(course) | {"version": str(draft.version), "date": draft.date.isoformat()}
    data["phase"] = draft.phase
    client.force_login(therapist)

    with django_assert_num_queries(EDIT_POST_QUERIES):
        response = client.post(edit_url(draft), data)

    assert response.status_code == 302
