"""The course page: who may open it, what it shows to whom, and its pinned query count.

Rules under test: the patient's therapist and the clinic admin may read the
page (other therapists and other clinics get 404, patients 403); the admin
never sees the formulation text or private notes and no edit buttons; the
page runs the same number of queries for 2 and for 16 sessions.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from sessions_app import ipt, measures
from sessions_app.models import AuditEvent, Course, GoalReview, TherapySession
from tests import factories

pytestmark = pytest.mark.django_db

FORMULATION = "FORMULATION-TEXT-9c1e: low mood since the arguments with Sam began."
PRIVATE_NOTE = "PRIVATE-NOTE-4d2b"


def signed_in(client, user):
    client.force_login(user)
    return client


def build_course(course: Course, n_sessions: int) -> Course:
    """A course with `n_sessions` attended sessions (plus one cancelled and one missed), two
    problem areas with a goal each, a review of every goal in every session, a PHQ-9 and a
    GAD-7 per session, three people (one discussed in every session) and a contract revision."""
    course.planned_sessions = max(n_sessions, 12)
    course.formulation = FORMULATION
    course.formulation_shared_on = dt.date(2026, 9, 15)
    course.formulation_agreed = True
    course.contract_date = dt.date(2026, 9, 15)
    course.save()
    sam = factories.RelationshipEntryFactory(course=course, name="Sam", closeness_ring=1)
    factories.RelationshipEntryFactory(course=course, name="Jo", closeness_ring=2)
    factories.RelationshipEntryFactory(course=course, name="Lee", closeness_ring=3)
    dispute = factories.RoleDisputeFocusFactory(course=course, is_primary=True, person=sam)
    transition = factories.ProblemAreaFocusFactory(course=course, is_primary=False)
    goals = [
        factories.GoalFactory(focus=dispute, text="Talk with Sam about the chores"),
        factories.GoalFactory(focus=transition, text="Feel at home in retirement", visible_to_patient=False),
    ]
    for number in range(1, n_sessions + 1):
        session = factories.TherapySessionFactory(
            course=course,
            number=number,
            private_note=PRIVATE_NOTE,
            events_since_last="Argued with Sam",
            techniques=[ipt.Technique.COMMUNICATION_ANALYSIS],
        )
        session.people_discussed.add(sam)
        for goal in goals:
            factories.GoalReviewFactory(goal=goal, session=session, progress=GoalReview.Progress.SOME)
        factories.MeasureResponseFactory(
            course=course, session=session, taken_on=session.date, items=[2, 2, 1, 1, 1, 1, 1, 0, 0]
        )
        factories.MeasureResponseFactory(
            course=course,
            session=session,
            taken_on=session.date,
            instrument=measures.Instrument.GAD7,
            items=[1, 1, 1, 1, 1, 1, 1],
        )
    factories.CancelledTherapySessionFactory(course=course, date=dt.date(2026, 9, 3))
    factories.TherapySessionFactory(
        course=course, number=None, attendance=TherapySession.Attendance.NO_SHOW, date=dt.date(2026, 9, 4)
    )
    factories.ContractRevisionFactory(course=course, previous_planned_sessions=12, planned_sessions=14)
    return course


# --- Access ---------------------------------------------------------------------------------------

STATUS = {
    "therapist": 200,
    "clinic_admin": 200,
    "other_therapist": 404,
    "other_clinic_admin": 404,
    "patient_user": 403,
}


@pytest.mark.parametrize(("persona", "status"), STATUS.items())
def test_course_page_access(client, request, course, persona, status):
    response = signed_in(client, request.getfixturevalue(persona)).get(course.get_absolute_url())
    assert response.status_code == status


def test_course_page_sends_anonymous_to_login(client, course):
    url = course.get_absolute_url()
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


def test_course_page_is_get_only(client, therapist, course):
    assert signed_in(client, therapist).post(course.get_absolute_url()).status_code == 405


def test_course_page_view_is_audited(client, therapist, course):
    signed_in(client, therapist).get(course.get_absolute_url())
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW, object_type="Course")
    assert event.object_id == str(course.public_id)
    assert event.patient_public_id == course.patient.public_id
    assert event.user == therapist


# --- Content --------------------------------------------------------------------------------------


def page(client, user, course) -> str:
    response = signed_in(client, user).get(course.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_header_shows_position_phase_areas_contract_and_status(client, therapist, course):
    build_course(course, 4)
    html = page(client, therapist, course)
    assert "Session 4 of 12" in html
    assert re.search(r'data-testid="course-phase">Middle', html)
    assert "Role dispute (primary): renegotiation" in html
    assert "Role transition" in html
    assert "15 Sep 2026" in html  # contract date
    assert f"{course.planned_end_date:%-d %b %Y}" in html
    assert re.search(r'data-testid="course-status">Active', html)


def test_a_course_without_sessions_is_in_the_initial_phase(client, therapist, course):
    html = page(client, therapist, course)
    assert "No session yet · 12 planned" in html
    assert re.search(r'data-testid="course-phase">Initial', html)


def test_closing_the_initial_phase_moves_the_header_to_middle(client, therapist, course):
    factories.TherapySessionFactory(course=course, number=1)
    course.middle_phase_started_on = dt.date(2026, 9, 2)
    course.middle_phase_override_reason = "Patient keen to start"
    course.save()
    html = page(client, therapist, course)
    assert re.search(r'data-testid="course-phase">Middle', html)
    assert "early: Patient keen to start" in html


def test_treating_therapist_sees_formulation_text_and_actions(client, therapist, course):
    build_course(course, 2)
    html = page(client, therapist, course)
    assert escape(FORMULATION) in html
    for name in ("course-complete", "course-discontinue", "course-revise-contract", "course-middle-phase"):
        assert reverse(name, kwargs={"public_id": course.public_id}) in html
    assert reverse("initial-start", kwargs={"public_id": course.public_id}) in html


def test_log_session_button_links_to_the_session_form(client, therapist, course):
    response = signed_in(client, therapist).get(course.get_absolute_url())
    url = reverse("session-create", kwargs={"public_id": course.public_id})
    assert response.context["session_create_url"] == url
    assert f'href="{url}"' in response.content.decode()


def test_clinic_admin_sees_formulation_facts_but_not_its_text_nor_notes_nor_buttons(
    client, clinic_admin, course
):
    build_course(course, 2)
    html = page(client, clinic_admin, course)
    assert "FORMULATION-TEXT-9c1e" not in html
    assert PRIVATE_NOTE not in html
    assert "Shared with the patient on 15 Sep 2026" in html
    assert "the patient agreed it." in html
    assert 'data-testid="course-actions"' not in html
    assert reverse("course-complete", kwargs={"public_id": course.public_id}) not in html
    assert reverse("session-create", kwargs={"public_id": course.public_id}) not in html
    # Checklist items are plain text for the admin: no links into the stepper.
    assert "/initial/" not in html


def test_private_notes_never_appear_on_the_course_page(client, therapist, course):
    build_course(course, 2)
    assert PRIVATE_NOTE not in page(client, therapist, course)


def test_closed_course_shows_no_actions(client, therapist, course):
    course.status = Course.Status.COMPLETED
    course.end_date = dt.date(2026, 11, 20)
    course.continuation_decision = Course.Continuation.MAINTENANCE
    course.save()
    html = page(client, therapist, course)
    assert 'data-testid="course-actions"' not in html
    assert "Completed, ended 20 Nov 2026" in html
    assert "after the course: maintenance ipt" in html


def test_timeline_marks_attended_cancelled_and_missed_sessions_differently(client, therapist, course):
    build_course(course, 3)
    html = page(client, therapist, course)
    svg = html[
        html.index('data-testid="phase-timeline"') : html.index("</svg>", html.index("phase-timeline"))
    ]
    assert svg.count('class="mark attended"') == 3
    assert svg.count('class="mark cancelled"') == 1
    assert svg.count('class="mark no_show"') == 1
    for phase in ("band-initial", "band-middle", "band-termination"):
        assert phase in svg


def test_score_chart_has_a_table_of_the_same_numbers(client, therapist, course):
    factories.MeasureResponseFactory(course=course, items=[3] * 9, taken_on=dt.date(2026, 9, 1))
    factories.MeasureResponseFactory(course=course, items=[1] * 9, taken_on=dt.date(2026, 9, 29))
    factories.MeasureResponseFactory(
        course=course, instrument=measures.Instrument.GAD7, items=[2] * 7, taken_on=dt.date(2026, 9, 1)
    )
    response = signed_in(client, therapist).get(course.get_absolute_url())
    html = response.content.decode()
    chart = response.context["chart"]
    assert [p.total for s in chart.series for p in s.points] == [27, 9, 14]
    table = html[html.index('data-testid="score-table"') : html.index("</table>", html.index("score-table"))]
    assert len(response.context["score_rows"]) == 2  # PHQ-9 and GAD-7 of 1 Sep share a row
    for total in ("27", "9", "14"):
        assert f"<td>{total}" in table
    assert "Severe" in table and "Mild" in table and "Moderate" in table
    assert 'data-testid="score-chart"' in html
    assert "PHQ-9 moderate from 10" in html


def test_goals_show_their_latest_review(client, therapist, course):
    focus = factories.ProblemAreaFocusFactory(course=course)
    goal = factories.GoalFactory(focus=focus, text="Join the walking group")
    first = factories.TherapySessionFactory(course=course, number=1)
    second = factories.TherapySessionFactory(course=course, number=2)
    factories.GoalReviewFactory(goal=goal, session=second, progress=GoalReview.Progress.SUBSTANTIAL)
    factories.GoalReviewFactory(goal=goal, session=first, progress=GoalReview.Progress.NOT_STARTED)
    html = page(client, therapist, course)
    goals = html[html.index('id="goals"') : html.index("</section>", html.index('id="goals"'))]
    assert "Join the walking group" in goals
    assert "Substantial progress" in goals
    assert "session 2" in goals
    assert "Not started" not in goals


def test_inventory_names_are_escaped_in_the_closeness_circle(client, therapist, course):
    factories.RelationshipEntryFactory(course=course, name="<script>alert(1)</script>", closeness_ring=1)
    html = page(client, therapist, course)
    assert "<script>alert(1)</script>" not in html
    circle = html[
        html.index('data-testid="closeness-circle"') : html.index("</svg>", html.index("closeness-circle"))
    ]
    assert "&lt;script&gt;" in circle


def test_checklist_shows_done_and_missing_initial_tasks(client, therapist, course):
    factories.MeasureResponseFactory(course=course)
    factories.RelationshipEntryFactory(course=course)
    html = page(client, therapist, course)
    checklist = html[
        html.index('data-testid="initial-checklist"') : html.index("</ul>", html.index("initial-checklist"))
    ]
    assert re.search(
        r'is-done">\s*<span class="check-status">Done:</span>\s*<a [^>]*>Review symptoms', checklist
    )
    assert re.search(
        r'is-done">\s*<span class="check-status">Done:</span>\s*<a [^>]*>Interpersonal inventory', checklist
    )
    assert re.search(
        r'is-missing">\s*<span class="check-status">Missing:</span>\s*<a [^>]*>Choose the problem', checklist
    )
    symptoms_url = reverse("initial-step", kwargs={"public_id": course.public_id, "step": "symptoms"})
    assert symptoms_url in checklist


def test_termination_phase_shows_the_termination_checklist(client, therapist, course):
    for number in range(1, 11):
        factories.TherapySessionFactory(course=course, number=number)
    course.ending_discussed_on = dt.date(2026, 11, 3)
    course.save()
    response = signed_in(client, therapist).get(course.get_absolute_url())
    items = {item.code: item.done for item in response.context["phase_items"]}
    assert items == {
        "ending_discussed": True,
        "feelings_about_ending": False,
        "gains": False,
        "relapse_plan": False,
        "continuation": False,
    }
    assert "Missing:</span> Explore feelings about ending" in response.content.decode()


def test_middle_phase_checklist_reads_the_latest_middle_session(client, therapist, course):
    build_course(course, 5)
    response = signed_in(client, therapist).get(course.get_absolute_url())
    items = {item.code: item.done for item in response.context["phase_items"]}
    assert items == {
        "since_last": True,
        "link_mood": True,
        "problem_area_work": False,
        "technique": True,
        "task": False,
        "phq9": True,
        "sessions_remaining": None,
    }


def test_contract_revisions_and_session_links_are_listed(client, therapist, course):
    build_course(course, 2)
    html = page(client, therapist, course)
    assert "12 → 14" in html
    assert "Two sessions lost to illness" in html
    for session in course.sessions.all():
        assert reverse("session-detail", kwargs={"public_id": session.public_id}) in html


def test_reaching_the_planned_sessions_prompts_completion_or_revision(client, therapist, course):
    for number in range(1, 13):
        factories.TherapySessionFactory(course=course, number=number)
    assert "revise the contract (with a reason) to go on" in page(client, therapist, course)


def test_focus_warnings_are_shown(client, therapist, course):
    factories.ProblemAreaFocusFactory(course=course, is_primary=True)
    factories.ProblemAreaFocusFactory(
        course=course, area=ipt.ProblemArea.INTERPERSONAL_DEFICITS, is_primary=False, old_role="", new_role=""
    )
    html = page(client, therapist, course)
    assert (
        escape(
            ipt.focus_warnings([ipt.ProblemArea.ROLE_TRANSITION, ipt.ProblemArea.INTERPERSONAL_DEFICITS])[0]
        )
        in html
    )


# --- Query count ----------------------------------------------------------------------------------

# Pinned; the same for 2 and 16 sessions (and their goals, reviews, scores and people):
#   1. SELECT the session row (django_session)
#   2. SELECT the signed-in user
#   3. SELECT the course, with its patient and therapist joined (scoped)
#   4. SELECT the problem areas, with their person joined
#   5. SELECT the goals, with their focus (and its course) joined
#   6. SELECT the prefetched reviews of those goals, with their session joined
#   7. SELECT the sessions, with "anyone discussed?" as an EXISTS subquery
#   8. SELECT the inventory
#   9. SELECT the questionnaires of the course
#  10. SELECT the contract revisions, with who revised them joined
#  11. SELECT the reassignments of the course, with the three people joined
#  12. INSERT the "view" audit row
#  13. SELECT the user's clinic, for the header in base.html
COURSE_PAGE_QUERIES = 13


@pytest.mark.parametrize("n_sessions", [2, 16])
@pytest.mark.parametrize("persona", ["therapist", "clinic_admin"])
def test_course_page_query_count_is_pinned(
    client, request, course, django_assert_num_queries, persona, n_sessions
):
    build_course(course, n_sessions)
    signed_in(client, request.getfixturevalue(persona))
    with django_assert_num_queries(COURSE_PAGE_QUERIES):
        response = client.get(course.get_absolute_url())
    assert response.status_code == 200
    assert len(response.context["sessions"]) == n_sessions + 2
