"""The course page and the course-level actions.

The page tells the whole story of a course (header, phase timeline, score
chart, goals, inventory, formulation, checklist, contract revisions,
sessions) in a fixed number of queries. The actions (complete, discontinue,
revise the contract, move to the middle phase) each have a small form page;
they are the treating therapist's alone and write through
`services.courses`.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from sessions_app import access, audit, charts, ipt, measures
from sessions_app.decorators import staff_required
from sessions_app.forms.course import (
    ContractRevisionForm,
    CourseCompleteForm,
    CourseDiscontinueForm,
    MiddlePhaseForm,
)
from sessions_app.models import AuditEvent, Course, Goal, MeasureResponse, TherapySession
from sessions_app.services import courses as course_services
from sessions_app.views.common import goals_with_latest_review
from sessions_app.views.initial import STEP_FOR_TASK, step_url


def session_create_url(course: Course) -> str | None:
    """The "log session" page of the course, once the session form's route exists."""
    try:
        return reverse("session-create", kwargs={"public_id": course.public_id})
    except NoReverseMatch:
        return None


def score_rows(scores: list) -> list[dict]:
    """One table row per sitting (date and session) with its PHQ-9 and GAD-7 side by side."""
    rows: dict[tuple, dict] = {}
    for measure in scores:
        row = rows.setdefault((measure.taken_on, measure.session_id), {"taken_on": measure.taken_on})
        row[measure.instrument] = measure
    return list(rows.values())


def _middle_facts(session: TherapySession, phq9_session_ids: set[int]) -> ipt.MiddleSessionFacts:
    return ipt.MiddleSessionFacts(
        events_recorded=bool(session.events_since_last.strip()),
        people_linked=session.has_people_discussed,
        strategies_used=bool(session.strategies),
        techniques_used=bool(session.techniques),
        task_set=bool(session.task_type),
        phq9_recorded=session.pk in phq9_session_ids,
    )


def phase_checklist(
    course: Course, phase: ipt.Phase, attended: list[TherapySession], phq9: list[MeasureResponse]
) -> tuple[ipt.ChecklistItem, ...]:
    """The current phase's checklist (the initial one is shown on its own).

    `attended` are the course's attended sessions in order, annotated with
    `has_people_discussed`; `phq9` its PHQ-9 responses. Middle-phase items
    describe the latest middle session.
    """
    if phase == ipt.Phase.MIDDLE:
        middle = [s for s in attended if s.phase == ipt.Phase.MIDDLE]
        if not middle:
            return ()
        phq9_sessions = {m.session_id for m in phq9 if m.session_id}
        return ipt.middle_checklist(_middle_facts(middle[-1], phq9_sessions))
    if phase == ipt.Phase.TERMINATION:
        return ipt.termination_checklist(course_services.termination_facts(course))
    if phase == ipt.Phase.MAINTENANCE:
        return ipt.maintenance_checklist()
    return ()


@staff_required
@require_GET
def course_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """One page with the whole story of a course, for its therapist and the clinic admin."""
    user = request.user
    course = access.get_or_404(access.courses_for(user), public_id)
    patient = course.patient
    # Edit buttons, the formulation text and step links are the treating therapist's.
    is_treating = user.is_therapist and patient.therapist_id == user.pk

    foci = list(access.foci_for(user).filter(course=course).select_related("person"))
    goals = goals_with_latest_review(
        access.goals_for(user)
        .filter(focus__course=course)
        .select_related("focus")
        .prefetch_related(
            Prefetch("reviews", queryset=access.goal_reviews_for(user).select_related("session"))
        )
        .order_by("focus__created_at", "created_at")
    )
    people_discussed = TherapySession.people_discussed.through.objects.filter(
        therapysession_id=OuterRef("pk")
    )
    sessions = list(
        access.sessions_for(user)
        .filter(course=course)
        .annotate(has_people_discussed=Exists(people_discussed))
        .order_by("date", "number", "created_at")
    )
    relationships = list(access.relationships_for(user).filter(course=course))
    scores = list(
        access.measures_for(user)
        # The ids of the sessions just read rather than a join: an OR across a join cannot use
        # the indexes and scanned every questionnaire of every clinic (README, "Performance").
        .filter(Q(course=course) | Q(session_id__in=[session.pk for session in sessions]))
        .order_by("taken_on", "created_at")
    )
    revisions = list(access.contract_revisions_for(user).filter(course=course).select_related("revised_by"))

    reassignments = list(access.reassignments_for(user).filter(course=course))

    attended = [s for s in sessions if s.attendance == TherapySession.Attendance.ATTENDED]
    last_attended = attended[-1] if attended else None
    initial_closed = course.middle_phase_started_on is not None
    phase = ipt.current_phase(last_attended.phase if last_attended else None, initial_closed=initial_closed)
    phq9 = [m for m in scores if m.instrument == measures.Instrument.PHQ9]

    initial_facts = course_services.build_initial_facts(
        course,
        has_phq9=bool(phq9),
        inventory_count=len(relationships),
        foci=foci,
        goal_areas=[g.focus.area for g in goals if g.status != Goal.Status.DROPPED],
    )
    initial_items = ipt.initial_checklist(initial_facts)
    phase_items = phase_checklist(course, phase, attended, phq9)

    is_active = course.status == Course.Status.ACTIVE
    can_edit = is_treating and is_active
    context = {
        "course": course,
        "patient": patient,
        "is_treating": is_treating,
        "can_edit": can_edit,
        "foci": foci,
        "focus_warnings": ipt.focus_warnings([f.area for f in foci]),
        "goals": goals,
        "sessions": sessions,
        "relationships": relationships,
        "measures": scores,
        "score_rows": score_rows(scores),
        "revisions": revisions,
        "reassignments": reassignments,
        "sessions_done": len(attended),
        "progress_percent": min(100, round(100 * len(attended) / course.planned_sessions)),
        "phase": phase,
        "initial_items": [
            (item, step_url(course, STEP_FOR_TASK[item.code]) if can_edit else None) for item in initial_items
        ],
        "initial_done": ipt.checklist_complete(initial_items),
        "phase_items": phase_items,
        "middle_tasks": ipt.PHASE_TASKS[ipt.Phase.MIDDLE],
        "beyond_plan": (
            is_active
            and len(attended) >= course.planned_sessions
            and course.continuation_decision != Course.Continuation.MAINTENANCE
        ),
        "timeline": charts.phase_timeline(
            course.planned_sessions, [(s.number, s.attendance, s.phase, s.date) for s in sessions]
        ),
        "chart": charts.score_chart([(m.taken_on, m.instrument, m.total) for m in scores]),
        "circle": charts.closeness_circle([(r.name, r.closeness_ring, r.is_deceased) for r in relationships]),
        "session_create_url": session_create_url(course) if can_edit else None,
    }
    audit.record(request, AuditEvent.Action.VIEW, course, patient=patient)
    return render(request, "course/detail.html", context)


# --- Course-level actions -------------------------------------------------------------------------


def _course_for_action(request: HttpRequest, public_id: str) -> Course:
    """The course in scope (else 404), for the treating therapist only (else 403)."""
    course = access.get_or_404(access.courses_for(request.user), public_id)
    access.require_treating_therapist(request.user, course.patient)
    return course


def _closed_redirect(request: HttpRequest, course: Course) -> HttpResponse | None:
    if course.status != Course.Status.ACTIVE:
        messages.error(
            request, f"This course is {course.get_status_display().lower()}; it can no longer be changed."
        )
        return redirect(course)
    return None


def _action_page(request: HttpRequest, course: Course, template: str, context: dict) -> HttpResponse:
    if request.method == "GET":
        audit.record(request, AuditEvent.Action.VIEW, course, patient=course.patient)
    return render(request, template, {"course": course, **context})


def _service_error(form, exc: ValidationError) -> None:
    for message in exc.messages:
        form.add_error(None, message)


@staff_required
@require_http_methods(["GET", "POST"])
def course_complete(request: HttpRequest, public_id: str) -> HttpResponse:
    """Complete the course: after the last planned session, or earlier with a reason."""
    course = _course_for_action(request, public_id)
    if refused := _closed_redirect(request, course):
        return refused
    sessions_done = course_services.attended_count(course)
    form = CourseCompleteForm(
        request.POST if request.method == "POST" else None, course=course, sessions_done=sessions_done
    )
    if request.method == "POST" and form.is_valid():
        try:
            course_services.course_complete(
                course=course,
                end_date=form.cleaned_data["end_date"],
                continuation_decision=form.cleaned_data["continuation_decision"],
                reason=form.cleaned_data["end_reason"],
            )
        except ValidationError as exc:
            _service_error(form, exc)
        else:
            audit.record(request, AuditEvent.Action.UPDATE, course, patient=course.patient)
            messages.success(request, "The course is completed.")
            return redirect(course)
    unsigned = course.sessions.filter(signed_at__isnull=True).count()
    context = {"form": form, "sessions_done": sessions_done, "unsigned": unsigned}
    return _action_page(request, course, "course/complete.html", context)


@staff_required
@require_http_methods(["GET", "POST"])
def course_discontinue(request: HttpRequest, public_id: str) -> HttpResponse:
    """Discontinue the course before its planned end, with a reason."""
    course = _course_for_action(request, public_id)
    if refused := _closed_redirect(request, course):
        return refused
    form = CourseDiscontinueForm(request.POST if request.method == "POST" else None, course=course)
    if request.method == "POST" and form.is_valid():
        try:
            course_services.course_discontinue(
                course=course, end_date=form.cleaned_data["end_date"], reason=form.cleaned_data["end_reason"]
            )
        except ValidationError as exc:
            _service_error(form, exc)
        else:
            audit.record(request, AuditEvent.Action.UPDATE, course, patient=course.patient)
            messages.success(request, "The course is discontinued.")
            return redirect(course)
    return _action_page(request, course, "course/discontinue.html", {"form": form})


@staff_required
@require_http_methods(["GET", "POST"])
def course_contract_revise(request: HttpRequest, public_id: str) -> HttpResponse:
    """Renegotiate the planned number of sessions (12–16) with a reason."""
    course = _course_for_action(request, public_id)
    if refused := _closed_redirect(request, course):
        return refused
    sessions_done = course_services.attended_count(course)
    form = ContractRevisionForm(
        request.POST if request.method == "POST" else None, course=course, sessions_done=sessions_done
    )
    if request.method == "POST" and form.is_valid():
        previous = course.planned_sessions
        try:
            revision = course_services.course_contract_revise(
                course=course,
                planned_sessions=form.cleaned_data["planned_sessions"],
                reason=form.cleaned_data["reason"],
                by=request.user,
                on=timezone.localdate(),
            )
        except ValidationError as exc:
            _service_error(form, exc)
        else:
            audit.record(request, AuditEvent.Action.CREATE, revision, patient=course.patient)
            audit.record(request, AuditEvent.Action.UPDATE, course, patient=course.patient)
            messages.success(
                request, f"Contract revised: {previous} → {revision.planned_sessions} planned sessions."
            )
            return redirect(course)
    context = {"form": form, "sessions_done": sessions_done}
    return _action_page(request, course, "course/revise_contract.html", context)


@staff_required
@require_http_methods(["GET", "POST"])
def course_middle_phase(request: HttpRequest, public_id: str) -> HttpResponse:
    """Move to the middle phase now; before the initial tasks are done, with a reason."""
    course = _course_for_action(request, public_id)
    if refused := _closed_redirect(request, course):
        return refused
    if course.middle_phase_started_on is not None:
        messages.info(request, "The course is already in the middle phase.")
        return redirect(course)
    items = ipt.initial_checklist(course_services.load_initial_facts(course))
    tasks_done = ipt.checklist_complete(items)
    form = MiddlePhaseForm(request.POST if request.method == "POST" else None, tasks_done=tasks_done)
    if request.method == "POST" and form.is_valid():
        try:
            course_services.course_middle_phase_start(
                course=course, on=timezone.localdate(), reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            _service_error(form, exc)
        else:
            audit.record(request, AuditEvent.Action.UPDATE, course, patient=course.patient)
            messages.success(request, "The course has moved to the middle phase.")
            return redirect(course)
    context = {"form": form, "missing": [item for item in items if item.done is False]}
    return _action_page(request, course, "course/middle_phase.html", context)


urlpatterns = [
    path("courses/<uuid:public_id>/", course_detail, name="course-detail"),
    path("courses/<uuid:public_id>/complete/", course_complete, name="course-complete"),
    path("courses/<uuid:public_id>/discontinue/", course_discontinue, name="course-discontinue"),
    path("courses/<uuid:public_id>/revise-contract/", course_contract_revise, name="course-revise-contract"),
    path("courses/<uuid:public_id>/middle-phase/", course_middle_phase, name="course-middle-phase"),
]
