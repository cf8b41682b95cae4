"""The patient's read-only portal: My therapy, My goals, Between sessions, My progress.

Rules every page here keeps:

* GET only (405 otherwise) and for patients only (403 to staff); the only
  writes a patient can make are their own password change and logout, which
  live elsewhere.
* Rows come through `access.py`, scoped to the signed-in patient's own record.
  The current course is the latest one by start date, as on the staff pages;
  earlier courses are listed by date only.
* Only what is meant for the patient reaches a template: goals the therapist
  made visible, tasks, course position, the relapse plan once the course is
  completed, and score totals when the therapist shares them. Never private
  notes, risk checks, the formulation, session notes, the inventory, review
  notes or item answers. Session rows are read with `.values()` so nothing
  else even leaves the database.
* Tasks and goal reviews come from signed sessions only: a draft note may
  still change, and the patient should not see it change under them.
* Every page read writes an audit row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from sessions_app import access, audit, charts, ipt, measures
from sessions_app.decorators import patient_required
from sessions_app.models import AuditEvent, Course, Goal, Patient, TherapySession
from sessions_app.views.common import goals_with_latest_review

ATTENDED = TherapySession.Attendance.ATTENDED


@dataclass(frozen=True)
class PortalCourse:
    """The signed-in patient, their current course and any earlier ones."""

    patient: Patient | None
    course: Course | None
    earlier: list[Course] = field(default_factory=list)


def _portal_course(request: HttpRequest) -> PortalCourse:
    """One query for the courses; a second only for a patient who has none yet."""
    courses = list(access.courses_for(request.user).order_by("-start_date", "-pk"))
    if courses:
        return PortalCourse(patient=courses[0].patient, course=courses[0], earlier=courses[1:])
    return PortalCourse(patient=access.patients_for(request.user).first(), course=None)


def _render(
    request: HttpRequest, template: str, page: str, portal: PortalCourse, **context: Any
) -> HttpResponse:
    return render(
        request,
        template,
        {"portal_page": page, "course": portal.course, "earlier_courses": portal.earlier, **context},
    )


def _attended(request: HttpRequest, course: Course) -> QuerySet[TherapySession]:
    return access.sessions_for(request.user).filter(course=course, attendance=ATTENDED)


# --- My therapy -------------------------------------------------------------------------------------


@require_GET
@patient_required
def home(request: HttpRequest) -> HttpResponse:
    """My therapy: session k of N, the phase in plain words, what comes next; the plan after the end."""
    portal = _portal_course(request)
    course = portal.course
    position = None
    if course is not None:
        phases = list(_attended(request, course).order_by("number").values_list("phase", flat=True))
        position = ipt.patient_position(
            status=course.status,
            planned_sessions=course.planned_sessions,
            sessions_done=len(phases),
            last_session_phase=phases[-1] if phases else None,
            initial_closed=course.middle_phase_started_on is not None,
            continuation=course.continuation_decision,
        )
    audit.record(request, AuditEvent.Action.VIEW, course, patient=portal.patient, object_type="Course")
    return _render(
        request,
        "portal/home.html",
        "home",
        portal,
        position=position,
        today=timezone.localdate(),
        show_relapse_plan=(
            course is not None
            and course.status == Course.Status.COMPLETED
            and bool(course.relapse_warning_signs.strip() or course.coping_plan.strip())
        ),
    )


# --- My goals ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaGoals:
    """The visible goals of one problem area, under its plain name."""

    name: str
    explanation: str
    goals: list[Goal]


def _group_by_area(goals: list[Goal]) -> list[AreaGoals]:
    groups: dict[int, AreaGoals] = {}
    for goal in goals:
        area = goal.focus.area
        group = groups.setdefault(
            goal.focus_id,
            AreaGoals(ipt.AREA_NAME_FOR_PATIENTS[area], ipt.AREA_GUIDES[area].patient_explanation, []),
        )
        group.goals.append(goal)
    return list(groups.values())


@require_GET
@patient_required
def goals(request: HttpRequest) -> HttpResponse:
    """My goals: the visible goals by problem area, each with its status and latest (signed) review."""
    user = request.user
    portal = _portal_course(request)
    groups: list[AreaGoals] = []
    if portal.course is not None:
        signed_reviews = access.goal_reviews_for(user).filter(session__signed_at__isnull=False)
        visible = (
            access.goals_for(user)
            .filter(focus__course=portal.course)
            .select_related("focus")
            .prefetch_related(Prefetch("reviews", queryset=signed_reviews.select_related("session")))
            # The primary area first, as the therapist agreed it.
            .order_by("-focus__is_primary", "focus__created_at", "created_at")
        )
        groups = _group_by_area(goals_with_latest_review(visible))
    audit.record(request, AuditEvent.Action.LIST, object_type="Goal", patient=portal.patient)
    return _render(request, "portal/goals.html", "goals", portal, groups=groups)


# --- Between sessions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """A between-session task as the patient reads it."""

    kind: str  # the type of task, blank for "other" (the text says it all)
    text: str
    set_on: date
    outcome: str  # how it went, from the next signed session; blank if not known yet


def _task_kind(task_type: str) -> str:
    if not task_type or task_type == TherapySession.TaskType.OTHER:
        return ""
    return TherapySession.TaskType(task_type).label


def between_session_tasks(rows: list[dict[str, Any]]) -> tuple[Task | None, list[Task]]:
    """The current task and the earlier ones (newest first) from signed sessions in number order.

    A task set in one session is reviewed in the next one (its `last_task_outcome`).
    The current task is the one set at the latest signed session, if it set one.
    """
    tasks: list[tuple[int, Task]] = []
    for index, row in enumerate(rows):
        if not (row["task_type"] or row["task_text"].strip()):
            continue
        outcome = rows[index + 1]["last_task_outcome"] if index + 1 < len(rows) else ""
        task = Task(
            kind=_task_kind(row["task_type"]),
            text=row["task_text"].strip(),
            set_on=row["date"],
            outcome=ipt.TASK_OUTCOME_FOR_PATIENTS.get(outcome, ""),
        )
        tasks.append((index, task))
    current = None
    if tasks and tasks[-1][0] == len(rows) - 1:
        current = tasks.pop()[1]
    return current, [task for _, task in reversed(tasks)]


@require_GET
@patient_required
def tasks(request: HttpRequest) -> HttpResponse:
    """Between sessions: the task until next time, and earlier tasks with how they went."""
    portal = _portal_course(request)
    course = portal.course
    current, past, write_up_pending = None, [], False
    if course is not None:
        attended = _attended(request, course)
        rows = list(
            attended.filter(signed_at__isnull=False)
            .order_by("number")
            .values("number", "date", "task_type", "task_text", "last_task_outcome")
        )
        current, past = between_session_tasks(rows)
        latest_signed = rows[-1]["number"] if rows else 0
        # A later session not yet signed may have set a new task: say so rather than show a stale one.
        write_up_pending = attended.filter(signed_at__isnull=True, number__gt=latest_signed).exists()
        if course.status != Course.Status.ACTIVE and current is not None:
            # Nothing is "until next time" once the course has ended.
            past, current = [current, *past], None
    audit.record(request, AuditEvent.Action.LIST, object_type="TherapySession", patient=portal.patient)
    return _render(
        request,
        "portal/tasks.html",
        "tasks",
        portal,
        current_task=current,
        past_tasks=past,
        write_up_pending=write_up_pending and course.status == Course.Status.ACTIVE,
    )


# --- My progress ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One questionnaire's totals in plain words."""

    label: str
    about: str
    sentences: tuple[str, ...]


@require_GET
@patient_required
def progress(request: HttpRequest) -> HttpResponse:
    """My progress: PHQ-9 and GAD-7 totals as a chart and in plain words, when the therapist shares them."""
    portal = _portal_course(request)
    course = portal.course
    shared = course is not None and course.share_scores_with_patient
    readings: list[Reading] = []
    chart, table = None, []
    if shared:
        # Totals and bands only: item answers (and so item 9) never leave the database.
        rows = list(
            access.measures_for(request.user)
            .filter(course=course)
            .order_by("taken_on", "created_at")
            .values("instrument", "total", "band", "taken_on", "session_id")
        )
        for instrument in measures.Instrument:
            totals = [row["total"] for row in rows if row["instrument"] == instrument]
            if totals:
                readings.append(
                    Reading(
                        instrument.label,
                        measures.ABOUT_FOR_PATIENTS[instrument],
                        measures.patient_reading(instrument, totals),
                    )
                )
        if rows:
            chart = charts.score_chart([(row["taken_on"], row["instrument"], row["total"]) for row in rows])
            table = _score_table(rows)
    audit.record(request, AuditEvent.Action.LIST, object_type="MeasureResponse", patient=portal.patient)
    return _render(
        request,
        "portal/progress.html",
        "progress",
        portal,
        shared=shared,
        readings=readings,
        chart=chart,
        score_rows=table,
    )


def _score_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per sitting with its PHQ-9 and GAD-7 side by side, each with its band label."""
    table: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        line = table.setdefault((row["taken_on"], row["session_id"]), {"taken_on": row["taken_on"]})
        line[row["instrument"]] = {"total": row["total"], "band": measures.band_label(row["band"]).lower()}
    return list(table.values())


urlpatterns = [
    path("portal/", home, name="portal-home"),
    path("portal/goals/", goals, name="portal-goals"),
    path("portal/between-sessions/", tasks, name="portal-tasks"),
    path("portal/progress/", progress, name="portal-progress"),
]
