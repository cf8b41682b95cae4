"""The clinic admin's record pages: reassigning a patient, and the course summary.

The summary is structured data only. Rows are read with only the columns the
page needs and handed to the template as plain values, so therapists'
private notes, risk-check narratives, formulation text and other free text
(session notes, goal-review notes, reasons typed by the therapist) never
reach the template, not even by a later template edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods

from sessions_app import access, audit, charts, ipt, measures
from sessions_app.decorators import clinic_admin_required
from sessions_app.forms.accounts import ReassignForm
from sessions_app.models import AuditEvent, Course, Goal, TherapySession
from sessions_app.services import accounts as account_services
from sessions_app.services import courses as course_services

# The checklist of a middle-phase session is computed exactly as on the course page.
from sessions_app.views.course import phase_checklist, score_rows

# --- Reassigning a patient -----------------------------------------------------------------------


@clinic_admin_required
@require_http_methods(["GET", "POST"])
def patient_reassign(request: HttpRequest, public_id: str) -> HttpResponse:
    """Move a patient (and their active course) to another active therapist of the clinic, with a reason."""
    user = request.user
    patient = access.get_or_404(access.patients_for(user).select_related("therapist"), public_id)
    therapists = (
        access.therapists_for(user)
        .filter(is_active=True)
        .exclude(pk=patient.therapist_id)
        .order_by("last_name", "first_name", "username")
    )
    form = ReassignForm(request.POST if request.method == "POST" else None, therapists=therapists)
    if request.method == "POST" and form.is_valid():
        previous = patient.therapist
        try:
            reassignment = account_services.patient_reassign(
                patient=patient,
                to_therapist=form.cleaned_data["to_therapist"],
                reason=form.cleaned_data["reason"],
                by=user,
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            audit.record(request, AuditEvent.Action.CREATE, reassignment, patient=patient)
            audit.record(request, AuditEvent.Action.UPDATE, patient, patient=patient)
            messages.success(
                request,
                f"{patient.full_name} moved from {previous.display_name} "
                f"to {reassignment.to_therapist.display_name}.",
            )
            if reassignment.course_id is not None:
                return redirect("clinic-course-summary", public_id=reassignment.course.public_id)
            return redirect(patient)
    if request.method == "GET":
        audit.record(request, AuditEvent.Action.VIEW, patient, patient=patient)
    active_course = access.courses_for(user).filter(patient=patient, status=Course.Status.ACTIVE).first()
    unsigned = (
        access.sessions_for(user).filter(course=active_course, signed_at__isnull=True).count()
        if active_course
        else 0
    )
    context = {"patient": patient, "form": form, "active_course": active_course, "unsigned": unsigned}
    return render(request, "clinic/reassign.html", context)


# --- Course summary ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    number: int | None
    date: date
    attendance: str
    phase: str
    signed: bool


@dataclass(frozen=True)
class GoalRow:
    text: str
    area: str
    status: str
    visible_to_patient: bool
    latest_progress: str | None
    latest_on: date | None
    latest_session_number: int | None


@dataclass(frozen=True)
class FocusRow:
    area: str
    is_primary: bool
    dispute_stage: str


@dataclass(frozen=True)
class ReassignmentRow:
    at: date
    from_name: str
    to_name: str
    by_name: str
    reason: str


# Only these session columns are read: no note, narrative or task text.
SESSION_COLUMNS = (
    "public_id",
    "course",
    "number",
    "date",
    "attendance",
    "phase",
    "signed_at",
    "strategies",
    "techniques",
    "task_type",
    # Read for the middle-phase checklist ("was anything recorded?"), never shown.
    "events_since_last",
)


@clinic_admin_required
@require_GET
def course_summary(request: HttpRequest, public_id: str) -> HttpResponse:
    """Phase, sessions, scores, goals, focus areas and checklist status of one course: no free text."""
    user = request.user
    course = access.get_or_404(access.courses_for(user), public_id)
    patient = course.patient

    people_discussed = TherapySession.people_discussed.through.objects.filter(
        therapysession_id=OuterRef("pk")
    )
    sessions = list(
        access.sessions_for(user)
        .select_related(None)
        .filter(course=course)
        .only(*SESSION_COLUMNS)
        .annotate(has_people_discussed=Exists(people_discussed))
        .order_by("date", "number", "created_at")
    )
    foci = list(
        access.foci_for(user).filter(course=course).only("course_id", "area", "is_primary", "dispute_stage")
    )
    goals = list(
        access.goals_for(user)
        .filter(focus__course=course)
        .select_related(None)
        .select_related("focus")
        .only("text", "status", "visible_to_patient", "focus", "focus__area", "created_at")
        .prefetch_related(
            Prefetch(
                "reviews",
                queryset=access.goal_reviews_for(user)
                .select_related("session")
                .only("goal_id", "progress", "session__date", "session__number"),
            )
        )
        .order_by("focus__created_at", "created_at")
    )
    inventory_count = access.relationships_for(user).filter(course=course).count()
    scores = list(
        access.measures_for(user)
        .filter(Q(course=course) | Q(session__course=course))
        .order_by("taken_on", "created_at")
    )
    reassignments = list(access.reassignments_for(user).filter(course=course))

    attended = [s for s in sessions if s.attendance == TherapySession.Attendance.ATTENDED]
    initial_closed = course.middle_phase_started_on is not None
    phase = ipt.current_phase(attended[-1].phase if attended else None, initial_closed=initial_closed)
    phq9 = [m for m in scores if m.instrument == measures.Instrument.PHQ9]
    initial_items = ipt.initial_checklist(
        course_services.build_initial_facts(
            course,
            has_phq9=bool(phq9),
            inventory_count=inventory_count,
            foci=foci,
            goal_areas=[g.focus.area for g in goals if g.status != Goal.Status.DROPPED],
        )
    )
    phase_items = phase_checklist(course, phase, attended, phq9)

    context = {
        "course_id": course.public_id,
        "patient": {"public_id": patient.public_id, "full_name": patient.full_name},
        "facts": _course_facts(course, len(attended), phase),
        "sessions": [
            SessionRow(s.number, s.date, s.get_attendance_display(), s.get_phase_display(), s.is_signed)
            for s in sessions
        ],
        "foci": [
            FocusRow(
                f.get_area_display(), f.is_primary, f.get_dispute_stage_display() if f.dispute_stage else ""
            )
            for f in foci
        ],
        "goals": [_goal_row(goal) for goal in goals],
        "inventory_count": inventory_count,
        "score_rows": score_rows(scores),
        "has_scores": bool(scores),
        "chart": charts.score_chart([(m.taken_on, m.instrument, m.total) for m in scores]),
        "timeline": charts.phase_timeline(
            course.planned_sessions, [(s.number, s.attendance, s.phase, s.date) for s in sessions]
        ),
        "initial_items": initial_items,
        "initial_done": ipt.checklist_complete(initial_items),
        "phase": phase,
        "phase_items": phase_items,
        "reassignments": [
            ReassignmentRow(
                r.at,
                r.from_therapist.display_name,
                r.to_therapist.display_name,
                r.reassigned_by.display_name,
                r.reason,
            )
            for r in reassignments
        ],
    }
    audit.record(request, AuditEvent.Action.VIEW, course, patient=patient)
    return render(request, "clinic/course_summary.html", context)


def _course_facts(course: Course, sessions_done: int, phase: ipt.Phase) -> dict:
    """The course's structured fields, and nothing typed by the therapist as prose."""
    return {
        "therapist": course.therapist.display_name,
        "status": course.get_status_display(),
        "is_active": course.status == Course.Status.ACTIVE,
        "phase": phase.label,
        "sessions_done": sessions_done,
        "planned_sessions": course.planned_sessions,
        "frequency": course.get_frequency_display(),
        "start_date": course.start_date,
        "planned_end_date": course.planned_end_date,
        "end_date": course.end_date,
        "contract_date": course.contract_date,
        "middle_phase_started_on": course.middle_phase_started_on,
        "formulation_shared_on": course.formulation_shared_on,
        "formulation_agreed": course.formulation_agreed,
        "continuation": course.get_continuation_decision_display() if course.continuation_decision else "",
        "share_scores_with_patient": course.share_scores_with_patient,
    }


def _goal_row(goal: Goal) -> GoalRow:
    reviews = list(goal.reviews.all())
    latest = reviews[-1] if reviews else None
    return GoalRow(
        text=goal.text,
        area=goal.focus.get_area_display(),
        status=goal.get_status_display(),
        visible_to_patient=goal.visible_to_patient,
        latest_progress=latest.get_progress_display() if latest else None,
        latest_on=latest.session.date if latest else None,
        latest_session_number=latest.session.number if latest else None,
    )


urlpatterns = [
    path("patients/<uuid:public_id>/reassign/", patient_reassign, name="patient-reassign"),
    path("clinic/courses/<uuid:public_id>/", course_summary, name="clinic-course-summary"),
]
