"""The therapist dashboard (/therapist/): columns, next actions, search, filters, pages, query count.

One row per patient of the signed-in therapist, from one annotated query
(querysets.PatientQuerySet.with_course_state); next actions come from
ipt.next_actions on a CourseState built from each row (querysets.course_state).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from sessions_app import ipt
from sessions_app.models import AuditEvent, Course, Patient, TherapySession
from sessions_app.querysets import course_state, focus_areas
from sessions_app.views.therapist import PAGE_SIZE, progress_step
from tests import factories

pytestmark = pytest.mark.django_db

URL = reverse("therapist-home")
PHQ9_SEVERE = [3, 3, 2, 2, 2, 2, 2, 2, 0]  # 18, moderately severe
PHQ9_MODERATE = [2, 2, 1, 1, 2, 1, 1, 1, 0]  # 11, moderate
PHQ9_MILD_ITEM9 = [1, 1, 1, 1, 1, 0, 0, 0, 1]  # 6, mild, item 9 positive


def today() -> dt.date:
    return timezone.localdate()


def signed_in(client, user):
    client.force_login(user)
    return client


def get(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200
    return response


def row_of(html: str, patient: Patient) -> str:
    """The HTML of one patient's row; fails if the patient is not listed."""
    match = re.search(
        rf'<tr data-testid="patient-row" data-patient="{patient.public_id}">(.*?)</tr>', html, re.S
    )
    assert match, f"{patient.full_name} is not on the page"
    return match.group(1)


def listed(response) -> list[Patient]:
    return [row.patient for row in response.context["rows"]]


def running_course(patient, *, sessions: int, last_days_ago: int = 7, planned: int = 12, **fields) -> Course:
    """An active course with `sessions` attended, signed weekly sessions, the last `last_days_ago` ago."""
    start = today() - dt.timedelta(days=last_days_ago, weeks=max(sessions - 1, 0))
    course = factories.CourseFactory(patient=patient, planned_sessions=planned, start_date=start, **fields)
    for number in range(1, sessions + 1):
        factories.SignedTherapySessionFactory(course=course, number=number)
    return course


def patient_of(therapist, given: str = "", family: str = "", **fields) -> Patient:
    names = {"given_name": given, "family_name": family} if given else {}
    return factories.PatientFactory(clinic=therapist.clinic, therapist=therapist, **names, **fields)


# Columns -----------------------------------------------------------------------------------------------


def test_a_row_shows_name_position_phase_focus_last_session_and_phq9(client, therapist, patient):
    course = running_course(patient, sessions=5, planned=14)
    factories.RoleDisputeFocusFactory(course=course, is_primary=True)
    factories.ProblemAreaFocusFactory(
        course=course, area=ipt.ProblemArea.GRIEF, is_primary=False, old_role=""
    )
    factories.RelationshipEntryFactory(course=course)
    factories.MeasureResponseFactory(course=course, items=PHQ9_SEVERE, taken_on=course.start_date)
    factories.MeasureResponseFactory(
        course=course, items=PHQ9_MODERATE, taken_on=today() - dt.timedelta(days=7)
    )

    row = row_of(get(signed_in(client, therapist)).content.decode(), patient)

    assert (
        f'<a href="{reverse("patient-detail", args=[patient.public_id])}">{escape(patient.full_name)}</a>'
        in row
    )
    assert "session 5 of 14" in row
    # 5 of 14 = 36 %, drawn in 5 % steps; the numbers are given to assistive technology.
    assert 'role="progressbar"' in row
    assert 'aria-valuenow="5"' in row and 'aria-valuemin="0"' in row and 'aria-valuemax="14"' in row
    assert 'aria-valuetext="5 of 14 sessions held"' in row
    assert "progress-w-35" in row
    assert "style=" not in row
    assert f"<td>{ipt.Phase.MIDDLE.label}</td>" in row
    assert row.index("Role dispute") < row.index("(primary)") < row.index("Grief")
    last = today() - dt.timedelta(days=7)
    assert f"{last.day} {last:%b %Y}" in row
    assert '11 <span class="band band-moderate">Moderate</span>' in row
    assert '<span aria-hidden="true">↓</span> down 7 since baseline · reliable improvement' in row
    assert "Nothing due" in row


@pytest.mark.parametrize(
    ("baseline", "latest", "words"),
    [
        (
            PHQ9_MODERATE,
            PHQ9_SEVERE,
            '<span aria-hidden="true">↑</span> up 7 since baseline · reliable deterioration',
        ),
        (
            PHQ9_MODERATE,
            [2, 2, 1, 1, 2, 1, 1, 0, 0],
            '<span aria-hidden="true">↓</span> down 1 since baseline\n',
        ),
        (PHQ9_MODERATE, PHQ9_MODERATE, '<span aria-hidden="true">→</span> no change since baseline'),
    ],
)
def test_phq9_direction_is_said_in_words(client, therapist, patient, baseline, latest, words):
    course = running_course(patient, sessions=4)
    factories.MeasureResponseFactory(course=course, items=baseline, taken_on=course.start_date)
    factories.MeasureResponseFactory(course=course, items=latest, taken_on=today())
    assert words in row_of(get(signed_in(client, therapist)).content.decode(), patient)


def test_a_single_phq9_is_the_baseline_with_no_direction(client, therapist, patient):
    course = running_course(patient, sessions=1)
    factories.MeasureResponseFactory(course=course, items=PHQ9_SEVERE, taken_on=course.start_date)
    row = row_of(get(signed_in(client, therapist)).content.decode(), patient)
    assert "18 <span" in row
    assert "baseline" in row and "since baseline" not in row


def test_phq9_scores_of_an_earlier_course_are_not_this_courses(client, therapist, patient):
    old = factories.CompletedCourseFactory(patient=patient, start_date=today() - dt.timedelta(days=400))
    factories.MeasureResponseFactory(course=old, items=PHQ9_SEVERE, taken_on=old.start_date)
    running_course(patient, sessions=1)
    row = row_of(get(signed_in(client, therapist)).content.decode(), patient)
    assert "Moderately severe" not in row
    assert "since baseline" not in row


def test_a_course_not_started_yet_and_a_course_beyond_its_plan(client, therapist, patient):
    other = patient_of(therapist, "Zed", "Zulu")
    factories.CourseFactory(patient=patient, start_date=today())
    running_course(other, sessions=13, planned=12)
    html = get(signed_in(client, therapist)).content.decode()
    fresh = row_of(html, patient)
    assert "not started (12 planned)" in fresh
    assert 'aria-valuenow="0"' in fresh and "progress-w-0" in fresh
    beyond = row_of(html, other)
    assert "session 13 of 12" in beyond and "beyond the plan" in beyond
    # aria-valuenow never exceeds aria-valuemax; the text says the real count.
    assert 'aria-valuenow="12"' in beyond and "progress-w-100" in beyond


@pytest.mark.parametrize(
    ("done", "planned", "step"), [(0, 12, 0), (1, 12, 10), (3, 12, 25), (5, 14, 35), (16, 16, 100)]
)
def test_progress_step_rounds_to_five_percent_and_stops_at_100(done, planned, step):
    assert progress_step(done, planned) == step
    assert progress_step(planned + 3, planned) == 100
    assert progress_step(None, None) == 0


def test_rows_link_to_the_course_and_to_log_a_session(client, therapist, patient):
    course = running_course(patient, sessions=2)
    html = get(signed_in(client, therapist)).content.decode()
    row = row_of(html, patient)
    assert f'href="{reverse("course-detail", args=[course.public_id])}"' in row
    assert f'href="{reverse("session-create", kwargs={"public_id": course.public_id})}"' in row
    assert f'href="{reverse("patient-create")}"' in html  # "Add a patient"


def test_a_patient_without_a_course_gets_a_start_course_link(client, therapist, patient):
    row = row_of(get(signed_in(client, therapist), status="none").content.decode(), patient)
    assert "No course yet" in row
    assert f'href="{reverse("course-start", args=[patient.public_id])}"' in row
    assert "Log session" not in row


def test_a_completed_course_has_no_next_actions_or_session_link(client, therapist, patient):
    course = factories.CompletedCourseFactory(patient=patient, start_date=today() - dt.timedelta(days=200))
    for number in range(1, 4):
        factories.TherapySessionFactory(course=course, number=number)  # unsigned, long ago: no matter now
    row = row_of(get(signed_in(client, therapist), status="completed").content.decode(), patient)
    assert "Completed after 3 sessions" in row
    assert 'data-testid="next-actions"' not in row
    assert "Log session" not in row
    assert f'href="{reverse("course-start", args=[patient.public_id])}"' in row


# Next actions ------------------------------------------------------------------------------------------


def test_next_actions_appear_in_the_right_patients_row(client, therapist, patient):
    at_risk = running_course(patient, sessions=4)
    draft = factories.TherapySessionFactory(course=at_risk, number=5, date=today())
    factories.MeasureResponseFactory(
        course=at_risk, session=draft, items=PHQ9_MILD_ITEM9, taken_on=draft.date
    )
    idle_patient = patient_of(therapist, "Ida", "Idle")
    running_course(idle_patient, sessions=6, last_days_ago=20)

    html = get(signed_in(client, therapist)).content.decode()

    risk_row, idle_row = row_of(html, patient), row_of(html, idle_patient)
    assert 'data-action="risk_check"' in risk_row and "record a risk check" in risk_row
    assert "Urgent:" in risk_row  # the level in words, not only in colour
    assert "1 unsigned note" in risk_row
    assert "No session in" not in risk_row
    assert "No session in 20 days" in idle_row
    assert "risk check" not in idle_row and "unsigned" not in idle_row


def test_next_actions_cover_inventory_problem_area_and_termination(client, therapist, patient):
    early = running_course(patient, sessions=3)  # no inventory, no problem area
    late_patient = patient_of(therapist, "Lou", "Late")
    late = running_course(late_patient, sessions=8)
    factories.RelationshipEntryFactory(course=late)
    factories.ProblemAreaFocusFactory(course=late)
    html = get(signed_in(client, therapist)).content.decode()
    early_row, late_row = row_of(html, patient), row_of(html, late_patient)
    assert "Interpersonal inventory not started" in early_row
    assert "No problem area chosen by session 3" in early_row
    assert "4 sessions left: raise termination" in late_row
    assert "inventory" not in late_row and "No problem area" not in late_row
    assert early.pk  # the course exists: the row's actions come from it


def test_course_state_maps_every_annotation(therapist, patient):
    course = running_course(
        patient,
        sessions=12,
        last_days_ago=3,
        ending_discussed_on=today() - dt.timedelta(days=20),
        continuation_decision=Course.Continuation.MAINTENANCE,
    )
    factories.TherapySessionFactory(course=course, number=13, date=today())  # a draft
    factories.CancelledTherapySessionFactory(
        course=course, date=today() - dt.timedelta(days=1)
    )  # a draft too
    for _ in range(3):
        factories.RelationshipEntryFactory(course=course)
    factories.ProblemAreaFocusFactory(course=course)

    row = Patient.objects.with_course_state().get(pk=patient.pk)
    state = course_state(row, today=today())

    assert state == ipt.CourseState(
        planned_sessions=12,
        sessions_done=13,
        inventory_count=3,
        has_primary_focus=True,
        item9_unresolved=False,
        unsigned_count=2,
        ending_discussed=True,
        maintenance_agreed=True,
        last_session_on=today(),
        start_date=course.start_date,
        today=today(),
    )


def test_course_state_is_none_without_an_active_course(patient):
    assert course_state(Patient.objects.with_course_state().get(pk=patient.pk), today=today()) is None
    factories.DiscontinuedCourseFactory(patient=patient)
    assert course_state(Patient.objects.with_course_state().get(pk=patient.pk), today=today()) is None


def test_course_state_of_a_course_with_nothing_yet(patient):
    course = factories.CourseFactory(patient=patient, start_date=today())
    state = course_state(Patient.objects.with_course_state().get(pk=patient.pk), today=today())
    assert (state.sessions_done, state.inventory_count, state.unsigned_count) == (0, 0, 0)
    assert state.last_session_on is None and state.start_date == course.start_date
    assert not state.has_primary_focus and not state.item9_unresolved


def item9_unresolved(patient) -> bool:
    return Patient.objects.with_course_state().get(pk=patient.pk).item9_unresolved


def test_item9_is_resolved_by_a_risk_check_in_its_own_session(patient):
    course = running_course(patient, sessions=2)
    session = factories.TherapySessionFactory(course=course, number=3, date=today())
    factories.MeasureResponseFactory(course=course, session=session, items=PHQ9_MILD_ITEM9, taken_on=today())
    assert item9_unresolved(patient) is True
    TherapySession.objects.filter(pk=session.pk).update(risk_ideation=TherapySession.Ideation.PASSIVE)
    assert item9_unresolved(patient) is False


def test_an_intake_item9_is_resolved_by_a_risk_check_on_or_after_that_day_only(patient):
    course = factories.CourseFactory(patient=patient, start_date=today() - dt.timedelta(days=14))
    earlier = factories.TherapySessionFactory(
        course=course, number=1, date=course.start_date, risk_ideation="none"
    )
    factories.MeasureResponseFactory(
        course=course, items=PHQ9_MILD_ITEM9, taken_on=today() - dt.timedelta(days=7)
    )
    assert item9_unresolved(patient) is True  # the only risk check came before the questionnaire
    factories.TherapySessionFactory(course=course, number=2, date=today(), risk_ideation="none")
    assert item9_unresolved(patient) is False
    assert earlier.pk


def test_item9_of_an_earlier_course_does_not_count(patient):
    old = factories.CompletedCourseFactory(patient=patient, start_date=today() - dt.timedelta(days=300))
    factories.MeasureResponseFactory(course=old, items=PHQ9_MILD_ITEM9, taken_on=old.start_date)
    factories.CourseFactory(patient=patient, start_date=today())
    assert item9_unresolved(patient) is False


@pytest.mark.parametrize("latest_phase", [None, *ipt.Phase.values])
@pytest.mark.parametrize("initial_closed", [False, True])
def test_the_current_phase_annotation_agrees_with_ipt_current_phase(patient, latest_phase, initial_closed):
    course = factories.CourseFactory(
        patient=patient, middle_phase_started_on=dt.date(2026, 9, 20) if initial_closed else None
    )
    if latest_phase is not None:
        factories.TherapySessionFactory(course=course, number=1, phase=latest_phase)
    row = Patient.objects.with_course_state().get(pk=patient.pk)
    assert row.current_phase == ipt.current_phase(latest_phase, initial_closed=initial_closed)


def test_the_current_phase_annotation_is_empty_without_a_course(patient):
    assert Patient.objects.with_course_state().get(pk=patient.pk).current_phase is None


def test_focus_areas_put_the_primary_first(patient):
    course = factories.CourseFactory(patient=patient)
    factories.ProblemAreaFocusFactory(
        course=course, area=ipt.ProblemArea.GRIEF, is_primary=False, old_role=""
    )
    factories.ProblemAreaFocusFactory(course=course, area=ipt.ProblemArea.ROLE_TRANSITION, is_primary=True)
    row = Patient.objects.with_course_state().get(pk=patient.pk)
    assert focus_areas(row) == [ipt.ProblemArea.ROLE_TRANSITION, ipt.ProblemArea.GRIEF]


# Search and filters ------------------------------------------------------------------------------------


@pytest.fixture
def caseload(therapist, other_therapist):
    """Named patients of the therapist in different states, plus some nobody else should see here."""
    people = {
        "ada": patient_of(therapist, "Ada", "Lovelace"),
        "alan": patient_of(therapist, "Alan", "Turing"),
        "grace": patient_of(therapist, "Grace", "Hopper"),
        "done": patient_of(therapist, "Dora", "Done"),
        "stopped": patient_of(therapist, "Stan", "Stopped"),
        "new": patient_of(therapist, "Nina", "New"),
        "archived": patient_of(therapist, "Archie", "Ved", archived_at=timezone.now()),
        "others": patient_of(other_therapist, "Ada", "Elsewhere"),
    }
    initial = running_course(people["ada"], sessions=2)
    factories.RoleDisputeFocusFactory(course=initial)
    middle = running_course(people["alan"], sessions=6)
    factories.ProblemAreaFocusFactory(course=middle, area=ipt.ProblemArea.ROLE_TRANSITION)
    factories.ProblemAreaFocusFactory(
        course=middle, area=ipt.ProblemArea.GRIEF, is_primary=False, old_role=""
    )
    # Grace: an earlier completed course, then a current active one in termination.
    factories.CompletedCourseFactory(patient=people["grace"], start_date=today() - dt.timedelta(days=500))
    running_course(people["grace"], sessions=11)
    factories.CompletedCourseFactory(patient=people["done"], start_date=today() - dt.timedelta(days=200))
    factories.DiscontinuedCourseFactory(
        patient=people["stopped"], start_date=today() - dt.timedelta(days=100)
    )
    running_course(people["archived"], sessions=2)
    running_course(people["others"], sessions=2)
    return people


def names(response) -> set[str]:
    return {p.given_name for p in listed(response)}


def test_the_default_lists_active_courses_only(client, therapist, caseload):
    assert names(get(signed_in(client, therapist))) == {"Ada", "Alan", "Grace"}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("active", {"Ada", "Alan", "Grace"}),
        ("completed", {"Dora"}),
        ("discontinued", {"Stan"}),
        ("none", {"Nina"}),
        ("all", {"Ada", "Alan", "Grace", "Dora", "Stan", "Nina"}),
    ],
)
def test_status_filter_is_the_status_of_the_current_course(client, therapist, caseload, status, expected):
    # Grace's earlier completed course does not make her "completed": her current course is active.
    assert names(get(signed_in(client, therapist), status=status)) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ada", {"Ada"}),
        ("TURING", {"Alan"}),
        ("ho", {"Grace"}),
        ("grace hopper", {"Grace"}),
        ("a", {"Ada", "Alan", "Grace"}),
    ],
)
def test_search_by_given_or_family_name_ignores_case(client, therapist, caseload, q, expected):
    assert names(get(signed_in(client, therapist), q=q)) == expected


def test_search_with_no_match_says_so(client, therapist, caseload):
    response = get(signed_in(client, therapist), q="nobody")
    assert listed(response) == []
    assert 'data-testid="no-matches"' in response.content.decode()


def test_search_keeps_what_was_typed_in_the_box(client, therapist, caseload):
    html = get(signed_in(client, therapist), q="Grace <b>").content.decode()
    assert 'value="Grace &lt;b&gt;"' in html


@pytest.mark.parametrize(
    ("phase", "expected"),
    [("initial", {"Ada"}), ("middle", {"Alan"}), ("termination", {"Grace"}), ("maintenance", set())],
)
def test_phase_filter(client, therapist, caseload, phase, expected):
    assert names(get(signed_in(client, therapist), phase=phase)) == expected


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        ("role_dispute", {"Ada"}),
        ("role_transition", {"Alan"}),
        ("grief", {"Alan"}),
        ("interpersonal_deficits", set()),
    ],
)
def test_problem_area_filter_matches_any_area_of_the_course(client, therapist, caseload, area, expected):
    assert names(get(signed_in(client, therapist), area=area)) == expected


def test_filters_combine(client, therapist, caseload):
    assert names(get(signed_in(client, therapist), q="a", phase="middle", area="grief")) == {"Alan"}
    assert names(get(signed_in(client, therapist), q="ada", status="all", area="grief")) == set()


def test_other_therapists_and_archived_patients_never_appear(client, therapist, caseload):
    html = get(signed_in(client, therapist), status="all", q="a").content.decode()
    assert "Elsewhere" not in html
    assert "Archie" not in html


@pytest.mark.parametrize(
    ("params", "notice", "expected"),
    [
        ({"status": "bogus"}, "Unknown status “bogus”: showing active courses.", {"Ada", "Alan", "Grace"}),
        ({"phase": "nope"}, "Unknown phase “nope”: showing every phase.", {"Ada", "Alan", "Grace"}),
        ({"area": "x"}, "Unknown problem area “x”: showing every problem area.", {"Ada", "Alan", "Grace"}),
        ({"page": "abc"}, "“abc” is not a page number: showing page 1.", {"Ada", "Alan", "Grace"}),
        ({"page": "0"}, "“0” is not a page number: showing page 1.", {"Ada", "Alan", "Grace"}),
        ({"q": "x" * 101}, "could not be used: searching all names.", {"Ada", "Alan", "Grace"}),
        # A bad value sets aside only itself: the other filters still apply.
        ({"status": "bogus", "q": "alan"}, "Unknown status “bogus”", {"Alan"}),
    ],
)
def test_bad_filter_values_fall_back_with_a_clear_message(
    client, therapist, caseload, params, notice, expected
):
    response = get(signed_in(client, therapist), **params)
    html = response.content.decode()
    assert notice in html
    assert 'data-testid="filter-notice"' in html
    assert names(response) == expected
    field = next(iter(params))
    if field != "page":  # the page is not a form field on screen; its notice says it all
        assert response.context["form"].errors[field]
        assert "is-invalid" in html


def test_a_page_past_the_end_shows_the_last_page_with_a_message(client, therapist):
    for i in range(PAGE_SIZE + 3):
        running_course(patient_of(therapist, f"P{i:02}", "Paged"), sessions=1)
    response = get(signed_in(client, therapist), page="9999")
    assert "There is no page 9999: showing page 2, the last." in response.content.decode()
    assert response.context["page"].number == 2
    assert len(listed(response)) == 3


# Pagination --------------------------------------------------------------------------------------------


def test_pages_of_25_with_links_that_keep_the_filters(client, therapist):
    for i in range(PAGE_SIZE + 5):
        course = running_course(patient_of(therapist, f"Pat{i:02}", "Paged"), sessions=5)
        factories.ProblemAreaFocusFactory(course=course)
    running_course(patient_of(therapist, "Pat99", "Initial"), sessions=1)  # filtered out by phase
    signed_in(client, therapist)

    first = get(client, q="pat", phase="middle", area="role_transition")
    assert len(listed(first)) == PAGE_SIZE
    assert first.context["page"].paginator.count == PAGE_SIZE + 5
    html = first.content.decode()
    assert "Page 1 of 2" in html
    next_link = first.context["page_links"]["next"]
    assert next_link == "?q=pat&phase=middle&area=role_transition&page=2"
    assert f'href="{escape(next_link)}"' in html

    second = client.get(URL + next_link)
    assert len(listed(second)) == 5
    assert second.context["page_links"]["previous"] == "?q=pat&phase=middle&area=role_transition&page=1"
    assert not set(listed(first)) & set(listed(second))


def test_page_links_leave_out_defaults_and_bad_values(client, therapist):
    for i in range(PAGE_SIZE + 1):
        running_course(patient_of(therapist, f"Pat{i:02}", "Paged"), sessions=1)
    response = get(signed_in(client, therapist), status="bogus", phase="initial")
    assert response.context["page_links"]["next"] == "?phase=initial&page=2"


# Access and audit --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "status"), [("clinic_admin", 403), ("patient_user", 403)])
def test_only_therapists_have_a_dashboard(client, request, persona, status):
    assert signed_in(client, request.getfixturevalue(persona)).get(URL).status_code == status


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_dashboard_is_get_only(client, therapist):
    assert signed_in(client, therapist).post(URL).status_code == 405


def test_opening_the_dashboard_writes_a_list_audit_row(client, therapist, caseload):
    get(signed_in(client, therapist), q="ada")
    event = AuditEvent.objects.get(action=AuditEvent.Action.LIST)
    assert (event.user, event.object_type, event.path) == (therapist, "Patient", URL)


# Query count -------------------------------------------------------------------------------------------


def build_busy_caseload(therapist, n: int) -> None:
    """`n` patients with everything a row shows: sessions (signed and draft), two focus areas,
    an inventory, PHQ-9s with an item-9 positive draft, a cancelled session."""
    for i in range(n):
        patient = patient_of(therapist, f"Busy{i:03}", "Caseload")
        held = 3 + i % 8
        course = running_course(patient, sessions=held)
        factories.ProblemAreaFocusFactory(course=course)
        factories.ProblemAreaFocusFactory(
            course=course, area=ipt.ProblemArea.GRIEF, is_primary=False, old_role=""
        )
        factories.RelationshipEntryFactory(course=course)
        factories.MeasureResponseFactory(course=course, items=PHQ9_SEVERE, taken_on=course.start_date)
        draft = factories.TherapySessionFactory(course=course, number=held + 1, date=today())
        factories.MeasureResponseFactory(
            course=course, session=draft, items=PHQ9_MILD_ITEM9, taken_on=today()
        )
        factories.CancelledTherapySessionFactory(course=course, date=today() - dt.timedelta(days=2))


# Measured with django_assert_num_queries, in the order they run:
#   1. SELECT the session row (django_session)
#   2. SELECT the signed-in user
#   3. SELECT COUNT(*) of the filtered patients, for the paginator
#   4. SELECT the page of patients, every figure of the row as a correlated subquery
#   5. INSERT the "list" audit row
#   6. SELECT the user's clinic, for the header in base.html
DASHBOARD_QUERIES = 6


@pytest.mark.parametrize("n", [5, 50])
@pytest.mark.parametrize("params", [{}, {"q": "busy", "phase": "middle", "area": "grief", "page": "2"}])
def test_dashboard_query_count_is_pinned(
    client, therapist, other_therapist, django_assert_num_queries, n, params
):
    build_busy_caseload(therapist, n)
    build_busy_caseload(other_therapist, 3)  # someone else's: not listed
    signed_in(client, therapist)
    with django_assert_num_queries(DASHBOARD_QUERIES):
        response = client.get(URL, params)
    assert response.status_code == 200
    rows = response.context["rows"]
    assert rows and len(rows) == len(response.context["page"].object_list)
    assert all(row.actions for row in rows)  # next actions computed for every row, no extra queries
