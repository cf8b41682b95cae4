"""The clinic admin's course summary: structured data, never therapists' free text.

Rules under test: only clinic admins open it (therapists and patients 403 —
therapists have the full course page —, another clinic's admin 404); it shows
phase, sessions (date, attendance, phase, signed or not), PHQ-9/GAD-7 table and
chart, goals with their latest review, problem areas and checklist status; no
private note, risk narrative, formulation, session note, task text, review
note, addendum, reason typed by the therapist, inventory detail or patient
history reaches it (every such field holds a marker string, and no marker may
appear); the query count is the same for 2 and 16 sessions; each view is audited.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils.html import escape

from sessions_app import ipt, measures
from sessions_app.models import AuditEvent, Course, GoalReview, TherapySession
from tests import factories

pytestmark = pytest.mark.django_db

MARKERS = {
    "formulation": "MARKER-FORMULATION-a1",
    "middle_phase_override_reason": "MARKER-MIDDLE-REASON-a2",
    "feelings_about_ending": "MARKER-FEELINGS-a3",
    "gains": "MARKER-GAINS-a4",
    "end_reason": "MARKER-END-REASON-a5",
    "relapse_warning_signs": "MARKER-WARNING-SIGNS-a6",
    "coping_plan": "MARKER-COPING-PLAN-a7",
    "medication": "MARKER-MEDICATION-b1",
    "presenting_concerns": "MARKER-CONCERNS-b2",
    "conditions_other": "MARKER-CONDITION-b3",
    "inventory_name": "MARKER-INVENTORY-NAME-c1",
    "inventory_positives": "MARKER-INVENTORY-POSITIVES-c2",
    "inventory_negatives": "MARKER-INVENTORY-NEGATIVES-c3",
    "inventory_conflicts": "MARKER-INVENTORY-CONFLICTS-c4",
    "inventory_desired_change": "MARKER-INVENTORY-CHANGE-c5",
    "focus_rationale": "MARKER-RATIONALE-d1",
    "focus_old_role": "MARKER-OLD-ROLE-d2",
    "focus_new_role": "MARKER-NEW-ROLE-d3",
    "private_note": "MARKER-PRIVATE-NOTE-e1",
    "events_since_last": "MARKER-SINCE-WE-MET-e2",
    "safety_plan": "MARKER-SAFETY-PLAN-e3",
    "risk_action_taken": "MARKER-RISK-ACTION-e4",
    "phase_override_reason": "MARKER-PHASE-REASON-e5",
    "task_text": "MARKER-TASK-e6",
    "addendum": "MARKER-ADDENDUM-e7",
    "contract_revision": "MARKER-CONTRACT-REASON-e8",
    "review_note": "MARKER-REVIEW-NOTE-f1",
}
GOAL = "Tell Sam what I need, calmly"
SIGNED_AT = dt.datetime(2026, 9, 30, 17, 0, tzinfo=dt.UTC)


def signed_in(client, user):
    client.force_login(user)
    return client


def summary_url(course: Course) -> str:
    return reverse("clinic-course-summary", args=[course.public_id])


def build_marked_course(course: Course, n_sessions: int = 3) -> Course:
    """A course with a marker in every free-text field, `n_sessions` attended (two signed), one cancelled."""
    m = MARKERS
    patient = course.patient
    patient.medication, patient.presenting_concerns = m["medication"], m["presenting_concerns"]
    patient.conditions_other = m["conditions_other"]
    patient.save()
    for field in (
        "formulation",
        "middle_phase_override_reason",
        "feelings_about_ending",
        "gains",
        "end_reason",
        "relapse_warning_signs",
        "coping_plan",
    ):
        setattr(course, field, m[field])
    course.planned_sessions = max(12, n_sessions)
    course.formulation_shared_on = dt.date(2026, 9, 15)
    course.contract_date = dt.date(2026, 9, 15)
    course.save()
    person = factories.RelationshipEntryFactory(
        course=course,
        name=m["inventory_name"],
        positives=m["inventory_positives"],
        negatives=m["inventory_negatives"],
        conflicts=m["inventory_conflicts"],
        desired_change=m["inventory_desired_change"],
    )
    focus = factories.ProblemAreaFocusFactory(
        course=course,
        person=person,
        rationale=m["focus_rationale"],
        old_role=m["focus_old_role"],
        new_role=m["focus_new_role"],
    )
    goal = factories.GoalFactory(focus=focus, text=GOAL)
    factories.ContractRevisionFactory(course=course, reason=m["contract_revision"])
    for number in range(1, n_sessions + 1):
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
            task_text=m["task_text"],
            techniques=[ipt.Technique.COMMUNICATION_ANALYSIS],
        )
        session.people_discussed.add(person)
        factories.GoalReviewFactory(
            goal=goal, session=session, note=m["review_note"], progress=GoalReview.Progress.SUBSTANTIAL
        )
        factories.MeasureResponseFactory(
            course=course, session=session, taken_on=session.date, items=[2, 2, 2, 2, 1, 1, 1, 0, 1]
        )
        factories.MeasureResponseFactory(
            course=course, session=session, taken_on=session.date, instrument="gad7", items=[1] * 7
        )
        if number <= 2:
            session.signed_at, session.signed_by = SIGNED_AT, course.therapist
            session.save(update_fields=["signed_at", "signed_by"])
            factories.SessionAddendumFactory(session=session, text=m["addendum"])
    factories.CancelledTherapySessionFactory(course=course, date=dt.date(2026, 9, 3))
    return course


def test_no_free_text_reaches_the_summary(client, clinic_admin, course):
    build_marked_course(course)
    response = signed_in(client, clinic_admin).get(summary_url(course))
    assert response.status_code == 200
    html = response.content.decode()
    for field, marker in MARKERS.items():
        assert marker not in html, f"{field} leaked onto the course summary"
    # Nor into the template context, where a later template edit could reach it.
    context_text = repr([response.context[key] for key in ("facts", "sessions", "foci", "goals", "patient")])
    for field, marker in MARKERS.items():
        assert marker not in context_text, f"{field} is in the summary's context"

    # Not vacuous: the structured data is all there.
    assert escape(GOAL) in html and "Substantial progress" in html
    assert "Role transition (primary)" in html
    assert 'data-testid="score-chart"' in html and 'data-testid="phase-timeline"' in html
    table = html.split('data-testid="score-table"')[1].split("</table>")[0]
    assert table.count("<tr>") == 3 + 1  # a header and one row per sitting
    assert '12 <span class="band band-moderate">Moderate</span>' in table and "item 9" in table
    sessions = html.split('data-testid="summary-sessions"')[1].split("</table>")[0]
    # Two signed; the third session and the cancelled one not.
    assert sessions.count("<td>Signed</td>") == 2 and sessions.count("<td>Not signed</td>") == 2
    assert "Cancelled" in sessions and "1 Sep 2026" in sessions
    assert "Initial" in html and 'data-testid="initial-checklist"' in html
    assert "Interpersonal inventory: 1 person recorded." in html
    assert "shared 15 Sep 2026" in html


def test_the_summary_shows_the_checklist_status_of_the_current_phase(client, clinic_admin, course):
    build_marked_course(course, n_sessions=5)
    response = signed_in(client, clinic_admin).get(summary_url(course))
    assert response.context["phase"] == ipt.Phase.MIDDLE
    checklist = response.content.decode().split('data-testid="phase-checklist"')[1].split("</ul>")[0]
    assert "Done:" in checklist and "Missing:" in checklist


def test_the_summary_is_audited(client, clinic_admin, course):
    signed_in(client, clinic_admin).get(summary_url(course))
    assert AuditEvent.objects.filter(
        user=clinic_admin,
        action=AuditEvent.Action.VIEW,
        object_type="Course",
        object_id=str(course.public_id),
        patient_public_id=course.patient.public_id,
    ).exists()


# --- Who may open it ------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["therapist", "other_therapist", "patient_user", "other_patient_user"])
def test_other_roles_get_403(client, request, persona, course):
    assert signed_in(client, request.getfixturevalue(persona)).get(summary_url(course)).status_code == 403


def test_another_clinics_admin_gets_404(client, other_clinic_admin, course):
    assert signed_in(client, other_clinic_admin).get(summary_url(course)).status_code == 404


def test_a_missing_course_is_404(client, clinic_admin):
    missing = reverse("clinic-course-summary", args=["1b4e28ba-2fa1-11d2-883f-0016d3cca427"])
    assert signed_in(client, clinic_admin).get(missing).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, course):
    response = client.get(summary_url(course))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_get_only(client, clinic_admin, course):
    assert signed_in(client, clinic_admin).post(summary_url(course)).status_code == 405


# --- Query count ----------------------------------------------------------------------------------------

# Pinned; the same for 2 and 16 sessions (with their reviews, scores and people):
#   1. SELECT the session row          2. SELECT the signed-in user
#   3. SELECT the course, with its patient and therapist joined (scoped)
#   4. SELECT the sessions (chosen columns), with "anyone discussed?" as an EXISTS subquery
#   5. SELECT the problem areas (chosen columns)
#   6. SELECT the goals with their focus      7. SELECT their reviews, with the session joined
#   8. COUNT the inventory             9. SELECT the questionnaires of the course
#  10. SELECT the reassignments of the course, with the three people joined
#  11. INSERT the "view" audit row    12. SELECT the user's clinic, for the header in base.html
SUMMARY_QUERIES = 12


@pytest.mark.parametrize("n_sessions", [2, 16])
def test_summary_query_count_is_pinned(client, clinic_admin, course, django_assert_num_queries, n_sessions):
    build_marked_course(course, n_sessions)
    factories.ReassignmentFactory(course=course)
    signed_in(client, clinic_admin)
    with django_assert_num_queries(SUMMARY_QUERIES):
        response = client.get(summary_url(course))
    assert response.status_code == 200
    assert len(response.context["sessions"]) == n_sessions + 1
    assert len(response.context["reassignments"]) == 1
    assert len(response.context["score_rows"]) == n_sessions


def test_the_phq9_total_is_the_measures_own(course):
    # Guards the "12, moderate" expectation above against a change of the items used.
    assert measures.score(measures.Instrument.PHQ9, [2, 2, 2, 2, 1, 1, 1, 0, 1]).total == 12
