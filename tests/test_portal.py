"""The patient's read-only portal: My therapy, My goals, Between sessions, My progress.

What is under test: every page answers GET only and only to patients; rows are
the patient's own (latest course, visible goals, signed sessions, shared
scores); nothing private reaches a portal page (the marker test); each read is
audited; and the query count of each page is fixed.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app import ipt, measures
from sessions_app.models import AuditEvent, Course, Goal, GoalReview, TherapySession
from sessions_app.views.portal import between_session_tasks
from tests import factories

pytestmark = pytest.mark.django_db

PORTAL_URL_NAMES = ("portal-home", "portal-goals", "portal-tasks", "portal-progress")
SIGNED_AT = dt.datetime(2026, 9, 1, 17, 0, tzinfo=dt.UTC)


def signed_in(client, user):
    client.force_login(user)
    return client


def sign(session: TherapySession) -> TherapySession:
    """Sign a session the way the app does: last, after its reviews and scores."""
    session.signed_at = SIGNED_AT
    session.signed_by = session.course.therapist
    session.save(update_fields=["signed_at", "signed_by"])
    return session


def page(client, url_name: str) -> str:
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    return response.content.decode()


# --- The marker test --------------------------------------------------------------------------------

# Text that must never reach a portal page, each in one field that holds it.
PRIVATE_MARKERS = {
    "formulation": "MARKER-FORMULATION-a1",
    "middle_phase_override_reason": "MARKER-MIDDLE-REASON-a2",
    "feelings_about_ending": "MARKER-FEELINGS-a3",
    "gains": "MARKER-GAINS-a4",
    "end_reason": "MARKER-END-REASON-a5",
    "medication": "MARKER-MEDICATION-b1",
    "presenting_concerns": "MARKER-CONCERNS-b2",
    "conditions_other": "MARKER-CONDITION-b3",
    "inventory_name": "MARKER-INVENTORY-NAME-c1",
    "inventory_positives": "MARKER-INVENTORY-POSITIVES-c2",
    "inventory_negatives": "MARKER-INVENTORY-NEGATIVES-c3",
    "inventory_conflicts": "MARKER-INVENTORY-CONFLICTS-c4",
    "inventory_desired_change": "MARKER-INVENTORY-CHANGE-c5",
    "inventory_activities": "MARKER-INVENTORY-ACTIVITIES-c6",
    "focus_rationale": "MARKER-RATIONALE-d1",
    "focus_old_role": "MARKER-OLD-ROLE-d2",
    "focus_new_role": "MARKER-NEW-ROLE-d3",
    "private_note": "MARKER-PRIVATE-NOTE-e1",
    "events_since_last": "MARKER-SINCE-WE-MET-e2",
    "safety_plan": "MARKER-SAFETY-PLAN-e3",
    "risk_action_taken": "MARKER-RISK-ACTION-e4",
    "phase_override_reason": "MARKER-PHASE-REASON-e5",
    "draft_task": "MARKER-DRAFT-TASK-e6",
    "addendum": "MARKER-ADDENDUM-e7",
    "contract_revision": "MARKER-CONTRACT-REASON-e8",
    "hidden_goal": "MARKER-HIDDEN-GOAL-f1",
    "review_note": "MARKER-REVIEW-NOTE-f2",
    "hidden_goal_review_note": "MARKER-HIDDEN-REVIEW-NOTE-f3",
    "other_goal": "MARKER-OTHER-PATIENT-GOAL-g1",
    "other_task": "MARKER-OTHER-PATIENT-TASK-g2",
    "other_warning_signs": "MARKER-OTHER-PATIENT-SIGNS-g3",
    "other_coping_plan": "MARKER-OTHER-PATIENT-PLAN-g4",
    "other_family_name": "MARKER-OTHER-PATIENT-NAME-g5",
}
RELAPSE_MARKERS = {
    "relapse_warning_signs": "MARKER-WARNING-SIGNS-h1",
    "coping_plan": "MARKER-COPING-PLAN-h2",
}
SHARED_GOAL = "Tell Sam what I need, calmly"
SHARED_TASKS = ("Keep a mood diary", "Open one talk with Sam with 'When…, I feel…'", "Ring Jo this week")


def build_marked_course(patient, other_patient, *, status: str = Course.Status.ACTIVE) -> Course:
    """A course with a marker string in every private field, three signed sessions and a draft."""
    m = PRIVATE_MARKERS
    patient.medication, patient.presenting_concerns = m["medication"], m["presenting_concerns"]
    patient.conditions_other = m["conditions_other"]
    patient.save()
    course = factories.CourseFactory(
        patient=patient,
        status=status,
        end_date=dt.date(2026, 11, 20) if status != Course.Status.ACTIVE else None,
        continuation_decision=Course.Continuation.NONE if status == Course.Status.COMPLETED else "",
        share_scores_with_patient=True,
        formulation=m["formulation"],
        middle_phase_override_reason=m["middle_phase_override_reason"],
        feelings_about_ending=m["feelings_about_ending"],
        gains=m["gains"],
        end_reason=m["end_reason"],
        relapse_warning_signs=RELAPSE_MARKERS["relapse_warning_signs"],
        coping_plan=RELAPSE_MARKERS["coping_plan"],
    )
    person = factories.RelationshipEntryFactory(
        course=course,
        name=m["inventory_name"],
        positives=m["inventory_positives"],
        negatives=m["inventory_negatives"],
        conflicts=m["inventory_conflicts"],
        desired_change=m["inventory_desired_change"],
        activities=m["inventory_activities"],
    )
    focus = factories.ProblemAreaFocusFactory(
        course=course,
        person=person,
        rationale=m["focus_rationale"],
        old_role=m["focus_old_role"],
        new_role=m["focus_new_role"],
    )
    shared = factories.GoalFactory(focus=focus, text=SHARED_GOAL)
    hidden = factories.GoalFactory(focus=focus, text=m["hidden_goal"], visible_to_patient=False)
    factories.ContractRevisionFactory(course=course, reason=m["contract_revision"])
    for number, task in enumerate(SHARED_TASKS, start=1):
        session = factories.TherapySessionFactory(
            course=course,
            number=number,
            private_note=m["private_note"],
            events_since_last=m["events_since_last"],
            risk_ideation=TherapySession.Ideation.PASSIVE,
            risk_plan=False,
            risk_intent=False,
            safety_plan=m["safety_plan"],
            risk_action_taken=m["risk_action_taken"],
            phase_override_reason=m["phase_override_reason"],
            task_type=TherapySession.TaskType.JOURNAL,
            task_text=task,
            last_task_outcome=TherapySession.TaskOutcome.PARTLY if number > 1 else "",
        )
        factories.GoalReviewFactory(goal=shared, session=session, note=m["review_note"])
        factories.GoalReviewFactory(goal=hidden, session=session, note=m["hidden_goal_review_note"])
        # Item 9 answered "several days": the flag and the answers must stay off the portal.
        factories.MeasureResponseFactory(
            course=course, session=session, items=[2, 2, 2, 2, 1, 1, 1, 0, 1], taken_on=session.date
        )
        sign(session)
        factories.SessionAddendumFactory(session=session, text=m["addendum"])
    factories.TherapySessionFactory(
        course=course, number=4, task_type=TherapySession.TaskType.OTHER, task_text=m["draft_task"]
    )

    other_patient.family_name = m["other_family_name"]
    other_patient.save()
    other = factories.CompletedCourseFactory(
        patient=other_patient,
        share_scores_with_patient=True,
        relapse_warning_signs=m["other_warning_signs"],
        coping_plan=m["other_coping_plan"],
    )
    other_focus = factories.ProblemAreaFocusFactory(course=other)
    factories.GoalFactory(focus=other_focus, text=m["other_goal"])
    sign(
        factories.TherapySessionFactory(course=other, number=1, task_text=m["other_task"], task_type="other")
    )
    factories.MeasureResponseFactory(course=other, items=[3] * 9)
    return course


@pytest.mark.parametrize(
    "status", [Course.Status.ACTIVE, Course.Status.COMPLETED, Course.Status.DISCONTINUED]
)
def test_no_private_text_reaches_any_portal_page(client, patient_user, patient, other_patient, status):
    build_marked_course(patient, other_patient, status=status)
    signed_in(client, patient_user)

    pages = {name: page(client, name) for name in PORTAL_URL_NAMES}

    for name, html in pages.items():
        for field_name, marker in PRIVATE_MARKERS.items():
            assert marker not in html, f"{field_name} leaked onto {name}"
        # Item answers and the item-9 flag never show: neither the wording nor a flag.
        assert measures.ITEMS[measures.Instrument.PHQ9][measures.ITEM9_INDEX] not in html
        assert "item 9" not in html.lower()
    # The relapse plan shows after a completed course only.
    for marker in RELAPSE_MARKERS.values():
        assert (marker in pages["portal-home"]) is (status == Course.Status.COMPLETED)
        for name in ("portal-goals", "portal-tasks", "portal-progress"):
            assert marker not in pages[name]
    # Not vacuous: the pages do show the patient's own shared content.
    assert SHARED_GOAL in pages["portal-goals"]
    assert all(task.replace("'", "&#x27;") in pages["portal-tasks"] for task in SHARED_TASKS)
    assert 'data-testid="score-chart"' in pages["portal-progress"]


def test_another_patient_sees_only_their_own_record(client, patient, other_patient, other_patient_user):
    build_marked_course(patient, other_patient)
    signed_in(client, other_patient_user)

    pages = {name: page(client, name) for name in PORTAL_URL_NAMES}

    assert PRIVATE_MARKERS["other_goal"] in pages["portal-goals"]
    assert PRIVATE_MARKERS["other_warning_signs"] in pages["portal-home"]
    for html in pages.values():
        assert SHARED_GOAL not in html
        assert not any(task.replace("'", "&#x27;") in html for task in SHARED_TASKS)
        assert RELAPSE_MARKERS["coping_plan"] not in html


# --- Methods and roles ------------------------------------------------------------------------------


@pytest.mark.parametrize("url_name", PORTAL_URL_NAMES)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_every_portal_url_refuses_writes(client, patient_user, course, url_name, method):
    signed_in(client, patient_user)
    response = getattr(client, method)(reverse(url_name))
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.VIEW).exists()


@pytest.mark.parametrize("url_name", PORTAL_URL_NAMES)
@pytest.mark.parametrize("persona", ["therapist", "other_therapist", "clinic_admin", "other_clinic_admin"])
def test_staff_get_403_on_every_portal_page(client, request, course, url_name, persona):
    signed_in(client, request.getfixturevalue(persona))
    assert client.get(reverse(url_name)).status_code == 403


@pytest.mark.parametrize("url_name", PORTAL_URL_NAMES)
def test_anonymous_visitors_are_sent_to_sign_in(client, url_name):
    url = reverse(url_name)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("url_name", PORTAL_URL_NAMES)
def test_every_page_read_is_audited_against_the_patient(client, patient_user, patient, course, url_name):
    signed_in(client, patient_user)
    client.get(reverse(url_name))
    event = AuditEvent.objects.get(path=reverse(url_name))
    assert event.user == patient_user
    assert event.role == "patient"
    assert event.patient_public_id == patient.public_id
    assert event.action in {AuditEvent.Action.VIEW, AuditEvent.Action.LIST}


@pytest.mark.parametrize("url_name", PORTAL_URL_NAMES)
def test_a_patient_without_a_course_gets_a_kind_page(client, patient_user, patient, url_name):
    html = page(signed_in(client, patient_user), url_name)
    assert 'data-testid="portal-no-course"' in html
    assert AuditEvent.objects.get(path=reverse(url_name)).patient_public_id == patient.public_id


def test_a_portal_account_with_no_patient_record_gets_a_kind_page(client, patient_user):
    html = page(signed_in(client, patient_user), "portal-home")
    assert 'data-testid="portal-no-course"' in html


# --- My therapy -------------------------------------------------------------------------------------


def attended(course: Course, count: int, **kwargs) -> list[TherapySession]:
    return [factories.TherapySessionFactory(course=course, number=n, **kwargs) for n in range(1, count + 1)]


def test_home_says_session_k_of_n_the_phase_and_what_comes_next(client, patient_user, course):
    attended(course, 5)  # the fifth of twelve: the middle phase
    factories.CancelledTherapySessionFactory(course=course, date=dt.date(2026, 10, 30))

    html = page(signed_in(client, patient_user), "portal-home")

    assert "Session <strong>5</strong> of 12" in html
    assert "7 sessions to go." in html
    assert ipt.PHASE_NAME_FOR_PATIENTS[ipt.Phase.MIDDLE].lower() in html
    purpose, next_step = ipt.PHASE_FOR_PATIENTS[ipt.Phase.MIDDLE]
    assert purpose in html and next_step in html
    assert course.therapist.display_name in html
    assert "Started on 1 September 2026" in html
    assert 'data-testid="portal-relapse-plan"' not in html


def test_home_beyond_the_planned_sessions_counts_on_without_a_total(client, patient_user, course):
    course.continuation_decision = Course.Continuation.MAINTENANCE
    course.save()
    attended(course, 14)

    html = page(signed_in(client, patient_user), "portal-home")

    assert "Session <strong>14</strong>, after the 12 planned" in html
    assert ipt.PHASE_FOR_PATIENTS[ipt.Phase.MAINTENANCE][0] in html
    assert "these extra sessions help you keep well" in html


def test_home_follows_the_phase_the_therapist_recorded(client, patient_user, course):
    attended(course, 10, phase=ipt.Phase.TERMINATION)

    html = page(signed_in(client, patient_user), "portal-home")

    assert ipt.PHASE_FOR_PATIENTS[ipt.Phase.TERMINATION][0] in html
    assert "2 sessions to go." in html


def test_home_before_the_first_session_says_when_it_starts(client, patient_user, patient):
    start = timezone.localdate() + dt.timedelta(days=10)
    factories.CourseFactory(patient=patient, start_date=start, planned_sessions=14)

    html = page(signed_in(client, patient_user), "portal-home")

    assert f"Your course of 14 sessions starts on {start:%A} {start.day} {start:%B}." in html
    assert f"Starts on {start.day} {start:%B %Y}" in html
    assert ipt.PHASE_FOR_PATIENTS[ipt.Phase.INITIAL][0] in html
    assert "Session <strong>" not in html


def test_home_after_a_completed_course_shows_the_plan_for_staying_well(client, patient_user, patient):
    course = factories.CompletedCourseFactory(
        patient=patient,
        relapse_warning_signs="Sleeping badly for a week",
        coping_plan="Ring Jo the same day",
        continuation_decision=Course.Continuation.MAINTENANCE,
    )
    attended(course, 12)

    html = page(signed_in(client, patient_user), "portal-home")

    assert "Sleeping badly for a week" in html
    assert "Ring Jo the same day" in html
    assert ipt.COURSE_ENDED_FOR_PATIENTS["completed"][0] in html
    assert ipt.CONTINUATION_FOR_PATIENTS["maintenance"] in html
    assert "You came to 12 sessions" in html
    assert "sessions to go" not in html


def test_home_after_a_discontinued_course_says_it_ended_and_no_plan(client, patient_user, patient):
    course = factories.DiscontinuedCourseFactory(patient=patient, relapse_warning_signs="Some draft signs")
    attended(course, 4)

    html = page(signed_in(client, patient_user), "portal-home")

    assert ipt.COURSE_ENDED_FOR_PATIENTS["discontinued"][0] in html
    assert "Some draft signs" not in html
    assert course.end_reason not in html


def test_home_shows_the_latest_course_and_lists_earlier_ones(client, patient_user, patient):
    old = factories.CompletedCourseFactory(
        patient=patient, start_date=dt.date(2025, 1, 6), relapse_warning_signs="Old course signs"
    )
    attended(old, 12)
    current = factories.CourseFactory(patient=patient, start_date=dt.date(2026, 9, 1))
    attended(current, 2)

    html = page(signed_in(client, patient_user), "portal-home")

    assert "Session <strong>2</strong> of 12" in html
    assert 'data-testid="portal-earlier-courses"' in html
    assert "From 6 January 2025 to 31 March 2025 (finished)" in html
    assert "Old course signs" not in html


# --- My goals ---------------------------------------------------------------------------------------


def test_goals_are_grouped_by_area_with_a_plain_explanation(client, patient_user, course):
    dispute = factories.RoleDisputeFocusFactory(course=course, is_primary=True)
    transition = factories.ProblemAreaFocusFactory(course=course, is_primary=False)
    factories.GoalFactory(focus=transition, text="Find my feet at the new job")
    factories.GoalFactory(focus=dispute, text="Talk to Sam calmly")
    factories.GoalFactory(focus=dispute, text="Agree a night for us", status=Goal.Status.ACHIEVED)

    html = page(signed_in(client, patient_user), "portal-goals")

    dispute_name = ipt.AREA_NAME_FOR_PATIENTS[ipt.ProblemArea.ROLE_DISPUTE]
    transition_name = ipt.AREA_NAME_FOR_PATIENTS[ipt.ProblemArea.ROLE_TRANSITION]
    # The primary area first, each goal under its own area.
    assert html.index(dispute_name) < html.index("Talk to Sam calmly") < html.index("Agree a night for us")
    assert html.index("Agree a night for us") < html.index(transition_name) < html.index("Find my feet")
    for area in (ipt.ProblemArea.ROLE_DISPUTE, ipt.ProblemArea.ROLE_TRANSITION):
        assert ipt.AREA_GUIDES[area].patient_explanation in html
    assert Goal.Status.ACHIEVED.label in html
    assert "Role dispute" not in html  # the therapist's term stays off the portal


def test_goals_show_the_latest_signed_review_only(client, patient_user, course):
    focus = factories.ProblemAreaFocusFactory(course=course)
    goal = factories.GoalFactory(focus=focus, text="See Jo every week")
    first, second, draft = attended(course, 3)
    factories.GoalReviewFactory(goal=goal, session=first, progress=GoalReview.Progress.NOT_STARTED)
    factories.GoalReviewFactory(goal=goal, session=second, progress=GoalReview.Progress.SUBSTANTIAL)
    factories.GoalReviewFactory(goal=goal, session=draft, progress=GoalReview.Progress.ACHIEVED)
    sign(first)
    sign(second)

    html = page(signed_in(client, patient_user), "portal-goals")

    assert f"{second.date.day} {second.date:%B %Y}: substantial progress." in html
    assert "not started" not in html.lower()
    assert GoalReview.Progress.ACHIEVED.label not in html


def test_goals_page_without_visible_goals_says_so(client, patient_user, course):
    factories.GoalFactory(focus=factories.ProblemAreaFocusFactory(course=course), visible_to_patient=False)
    html = page(signed_in(client, patient_user), "portal-goals")
    assert 'data-testid="portal-no-goals"' in html


def test_goals_come_from_the_current_course_only(client, patient_user, patient):
    old = factories.CompletedCourseFactory(patient=patient, start_date=dt.date(2025, 1, 6))
    factories.GoalFactory(focus=factories.ProblemAreaFocusFactory(course=old), text="An old goal")
    current = factories.CourseFactory(patient=patient)
    factories.GoalFactory(focus=factories.ProblemAreaFocusFactory(course=current), text="A new goal")

    html = page(signed_in(client, patient_user), "portal-goals")

    assert "A new goal" in html
    assert "An old goal" not in html


# --- Between sessions -------------------------------------------------------------------------------


def test_tasks_show_the_current_one_and_earlier_ones_with_how_they_went(client, patient_user, course):
    one, two, three = attended(course, 3)
    for session, (kind, text, outcome) in zip(
        (one, two, three),
        [
            ("journal", "Keep a mood diary", ""),
            ("reconnecting", "Ring Jo", TherapySession.TaskOutcome.DONE),
            ("communication_practice", "Say how I feel to Sam", TherapySession.TaskOutcome.NOT_DONE),
        ],
        strict=True,
    ):
        session.task_type, session.task_text, session.last_task_outcome = kind, text, outcome
        session.save()
        sign(session)

    html = page(signed_in(client, patient_user), "portal-tasks")

    current = html[
        html.index('data-testid="portal-current-task"') : html.index('data-testid="portal-past-tasks"')
    ]
    past = html[html.index('data-testid="portal-past-tasks"') :]
    assert "Say how I feel to Sam" in current and "Communication practice" in current
    assert "Ring Jo" not in current
    # Newest first; a task's outcome is recorded at the next session.
    assert past.index("Ring Jo") < past.index("Keep a mood diary")
    assert "Ring Jo</p>" in past and "How it went: not done this time." in past
    assert "How it went: done." in past
    assert 'data-testid="portal-write-up-pending"' not in html


def test_a_draft_session_task_waits_for_the_signature(client, patient_user, course):
    one, draft = attended(course, 2)
    one.task_type, one.task_text = "journal", "Keep a mood diary"
    one.save()
    sign(one)
    draft.task_type, draft.task_text, draft.last_task_outcome = "other", "Draft task wording", "done"
    draft.save()

    html = page(signed_in(client, patient_user), "portal-tasks")

    assert "Keep a mood diary" in html
    assert "Draft task wording" not in html
    assert "How it went" not in html  # the outcome is in the draft too
    assert 'data-testid="portal-write-up-pending"' in html


def test_after_the_course_every_task_is_an_earlier_one(client, patient_user, patient):
    course = factories.CompletedCourseFactory(patient=patient)
    (session,) = attended(course, 1, task_type="other", task_text="Write down my warning signs")
    sign(session)

    html = page(signed_in(client, patient_user), "portal-tasks")

    assert 'data-testid="portal-current-task"' not in html
    assert "Tasks from your course" in html
    assert "Write down my warning signs" in html


def test_between_session_tasks_pairs_each_task_with_the_next_outcome():
    rows = [
        {
            "number": 1,
            "date": dt.date(2026, 9, 1),
            "task_type": "journal",
            "task_text": "A",
            "last_task_outcome": "",
        },
        {
            "number": 2,
            "date": dt.date(2026, 9, 8),
            "task_type": "",
            "task_text": "",
            "last_task_outcome": "done",
        },
        {
            "number": 3,
            "date": dt.date(2026, 9, 15),
            "task_type": "other",
            "task_text": "B",
            "last_task_outcome": "",
        },
    ]
    current, past = between_session_tasks(rows)
    assert current is not None and (current.kind, current.text, current.outcome) == ("", "B", "")
    assert [(t.kind, t.text, t.outcome) for t in past] == [("Journal", "A", "Done")]

    current, past = between_session_tasks(rows[:2])
    assert current is None  # the latest session set no task
    assert [t.text for t in past] == ["A"]
    assert between_session_tasks([]) == (None, [])


# --- My progress ------------------------------------------------------------------------------------


def scores(course: Course, phq9: list[int], gad7: list[int] | None = None) -> None:
    """One sitting a week: PHQ-9 (and GAD-7) totals spread over the items, item 9 always 0."""
    for week, total in enumerate(phq9):
        items = [min(3, max(0, total - 3 * i)) for i in range(8)] + [0]
        day = course.start_date + dt.timedelta(weeks=week)
        factories.MeasureResponseFactory(course=course, items=items, taken_on=day)
        if gad7:
            gad = [min(3, max(0, gad7[week] - 3 * i)) for i in range(7)]
            factories.MeasureResponseFactory(course=course, instrument="gad7", items=gad, taken_on=day)


def test_progress_shows_the_trend_and_a_plain_reading_when_shared(client, patient_user, patient):
    course = factories.CourseFactory(patient=patient, share_scores_with_patient=True)
    scores(course, [18, 12, 7], gad7=[12, 9, 8])

    html = page(signed_in(client, patient_user), "portal-progress")

    assert "Your score has come down from 18 to 7 since you started — that is a big change." in html
    assert "Your latest score, 7, is in the mild range." in html
    assert "Your score has come down from 12 to 8 since you started" in html  # GAD-7: reliable at 4
    assert measures.ABOUT_FOR_PATIENTS[measures.Instrument.PHQ9] in html
    assert html.count('class="dot phq9"') == 3 and html.count('class="dot gad7"') == 3
    assert 'data-testid="portal-score-table"' in html


def test_progress_without_sharing_says_the_therapist_will_talk_about_scores(client, patient_user, course):
    scores(course, [18, 7])

    html = page(signed_in(client, patient_user), "portal-progress")

    assert 'data-testid="portal-scores-not-shared"' in html
    assert "score-chart" not in html
    assert "18" not in html.split('id="main"')[1]


def test_progress_shows_only_the_current_course(client, patient_user, patient):
    old = factories.CompletedCourseFactory(
        patient=patient, start_date=dt.date(2025, 1, 6), share_scores_with_patient=True
    )
    scores(old, [25, 24])
    current = factories.CourseFactory(patient=patient, share_scores_with_patient=True)
    scores(current, [14])

    html = page(signed_in(client, patient_user), "portal-progress")

    assert "Your first score was 14, in the moderate range." in html
    assert "25" not in html.split('data-testid="portal-reading"')[1].split("</section>")[0]
    assert html.count('class="dot phq9"') == 1


@pytest.mark.parametrize(
    ("totals", "expected"),
    [
        ([18, 7], "Your score has come down from 18 to 7 since you started — that is a big change."),
        ([12, 9], "Your score has come down a little, from 12 to 9."),
        ([11, 11], "Your score is 11, the same as when you started."),
        ([10, 17], "Your score has gone up from 10 to 17 since you started. Please talk about this"),
        ([9, 11], "Your score has gone up a little, from 9 to 11."),
        ([14], "Your first score was 14, in the moderate range."),
    ],
)
def test_patient_reading_names_the_change_in_plain_words(totals, expected):
    sentences = measures.patient_reading(measures.Instrument.PHQ9, totals)
    assert sentences[0].startswith(expected)
    if len(totals) > 1:
        band = measures.band_label(measures.band_for("phq9", totals[-1])).lower()
        assert sentences[1] == f"Your latest score, {totals[-1]}, is in the {band} range."


def test_patient_reading_of_nothing_is_nothing():
    assert measures.patient_reading(measures.Instrument.GAD7, []) == ()


# --- ipt.patient_position ---------------------------------------------------------------------------


def test_patient_position_counts_down_and_names_the_phase():
    position = ipt.patient_position(
        status="active",
        planned_sessions=12,
        sessions_done=11,
        last_session_phase="termination",
        initial_closed=True,
    )
    assert (position.phase, position.sessions_left) == (ipt.Phase.TERMINATION, "One planned session to go.")
    assert position.phase_name == "Finishing well"
    assert position.has_started and not position.has_ended


def test_patient_position_before_the_first_session_is_getting_started():
    position = ipt.patient_position(
        status="active", planned_sessions=12, sessions_done=0, last_session_phase=None, initial_closed=False
    )
    assert position.phase == ipt.Phase.INITIAL
    assert position.sessions_left == "12 sessions are planned."
    assert not position.has_started


def test_patient_position_beyond_the_plan_and_after_the_end():
    beyond = ipt.patient_position(
        status="active",
        planned_sessions=12,
        sessions_done=14,
        last_session_phase="maintenance",
        initial_closed=True,
    )
    assert beyond.phase == ipt.Phase.MAINTENANCE
    assert "extra sessions" in beyond.sessions_left
    ended = ipt.patient_position(
        status="completed",
        planned_sessions=12,
        sessions_done=12,
        last_session_phase="termination",
        initial_closed=True,
        continuation="referral",
    )
    assert ended.phase is None and ended.has_ended
    assert ended.next_step == ipt.CONTINUATION_FOR_PATIENTS["referral"]


def test_patient_wording_covers_every_code():
    assert set(ipt.AREA_NAME_FOR_PATIENTS) == set(ipt.ProblemArea.values)
    assert set(ipt.PHASE_NAME_FOR_PATIENTS) == set(ipt.Phase.values)
    assert set(ipt.TASK_OUTCOME_FOR_PATIENTS) == set(TherapySession.TaskOutcome.values)
    assert set(ipt.CONTINUATION_FOR_PATIENTS) == set(Course.Continuation.values)
    assert set(ipt.COURSE_ENDED_FOR_PATIENTS) == set(Course.Status.values) - {Course.Status.ACTIVE}
    assert set(measures.ABOUT_FOR_PATIENTS) == set(measures.Instrument.values)


# --- Query counts -----------------------------------------------------------------------------------


def build_course_with_sessions(patient, n: int) -> Course:
    """A shared course of `n` signed sessions, each with a task, PHQ-9, GAD-7 and two goal reviews."""
    course = factories.CourseFactory(patient=patient, planned_sessions=16, share_scores_with_patient=True)
    focus = factories.ProblemAreaFocusFactory(course=course)
    goals = [factories.GoalFactory(focus=focus, text=f"Goal {i}") for i in range(2)]
    for number in range(1, n + 1):
        session = factories.TherapySessionFactory(
            course=course, number=number, task_type="journal", task_text=f"Task {number}"
        )
        for goal in goals:
            factories.GoalReviewFactory(goal=goal, session=session)
        factories.MeasureResponseFactory(course=course, session=session, taken_on=session.date)
        factories.MeasureResponseFactory(
            course=course, session=session, instrument="gad7", items=[1] * 7, taken_on=session.date
        )
        sign(session)
    factories.TherapySessionFactory(course=course, number=n + 1)  # a draft
    return course


# Measured with django_assert_num_queries, in the order they run. Every page starts with:
#   1. SELECT the session row            2. SELECT the signed-in user
#   3. SELECT the patient's courses, newest first, with patient and therapist joined
# then runs its own queries (below), and ends with:
#   - INSERT the audit row               - SELECT the user's clinic, for the header in base.html
# Its own queries:
#   home:      the attended sessions' phases                                          (1)
#   goals:     the visible goals with their focus; their signed reviews with sessions (2)
#   tasks:     the signed sessions' task fields; whether a later draft exists         (2)
#   progress:  the shared totals of the course                                        (1)
PORTAL_QUERIES = {
    "portal-home": 3 + 1 + 2,
    "portal-goals": 3 + 2 + 2,
    "portal-tasks": 3 + 2 + 2,
    "portal-progress": 3 + 1 + 2,
}


@pytest.mark.parametrize("url_name", PORTAL_URL_NAMES)
@pytest.mark.parametrize("n", [2, 16])
def test_portal_query_counts_are_pinned(
    client, patient_user, patient, django_assert_num_queries, url_name, n
):
    build_course_with_sessions(patient, n)
    signed_in(client, patient_user)
    with django_assert_num_queries(PORTAL_QUERIES[url_name]):
        response = client.get(reverse(url_name))
    assert response.status_code == 200
    if url_name == "portal-tasks":
        assert len(response.context["past_tasks"]) == n - 1
    if url_name == "portal-progress":
        assert len(response.context["score_rows"]) == n
