"""The therapist's pages: the dashboard of their caseload, adding a patient, starting a course."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from sessions_app import access, audit, ipt, measures
from sessions_app.decorators import staff_required, therapist_required
from sessions_app.forms.patients import CourseStartForm, DashboardFilterForm, DashboardFilters, PatientForm
from sessions_app.models import AuditEvent, Course, Patient
from sessions_app.querysets import course_state, focus_areas
from sessions_app.services import patients as patient_services

PAGE_SIZE = 25
# The progress bar's width moves in steps of this many percent: a CSS class per step
# (static/css/therapist.css), as inline styles are barred by the CSP.
PROGRESS_STEP = 5


# --- Dashboard -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Direction:
    """How the latest PHQ-9 of a course compares with its first (baseline)."""

    change: int  # latest minus baseline: below 0 is better
    reliable_improvement: bool
    reliable_deterioration: bool

    @property
    def arrow(self) -> str:
        return "↓" if self.change < 0 else "↑" if self.change > 0 else "→"

    @property
    def words(self) -> str:
        if self.change == 0:
            return "no change since baseline"
        return f"{'down' if self.change < 0 else 'up'} {abs(self.change)} since baseline"


@dataclass(frozen=True)
class DashboardRow:
    """One patient on the dashboard, with what is computed from their annotations."""

    patient: Patient
    areas: list[str]
    progress_step: int
    direction: Direction | None
    actions: list[ipt.NextAction]
    course_url: str | None
    session_create_url: str | None
    course_start_url: str | None

    @property
    def course_active(self) -> bool:
        return self.patient.current_course_status == Course.Status.ACTIVE

    @property
    def beyond_plan(self) -> bool:
        return (self.patient.sessions_done or 0) > (self.patient.planned_sessions or 0)

    @property
    def progress_now(self) -> int:
        """aria-valuenow: never above the maximum, whatever the count."""
        return min(self.patient.sessions_done or 0, self.patient.planned_sessions or 0)


def progress_step(sessions_done: int | None, planned_sessions: int | None) -> int:
    """The share of planned sessions held, rounded to PROGRESS_STEP percent, at most 100."""
    if not planned_sessions:
        return 0
    percent = min(100, 100 * (sessions_done or 0) / planned_sessions)
    return int(PROGRESS_STEP * round(percent / PROGRESS_STEP))


def phq9_direction(row: Patient) -> Direction | None:
    """Latest against baseline PHQ-9 of the current course; None until it has two."""
    if row.course_phq9_count < 2:
        return None
    baseline, latest = row.course_phq9_baseline, row.course_phq9_latest
    outcome = measures.outcome(measures.Instrument.PHQ9, baseline, latest)
    return Direction(
        change=latest - baseline,
        reliable_improvement=outcome.reliable_improvement,
        reliable_deterioration=outcome.reliable_deterioration,
    )


def dashboard_row(row: Patient, *, today: date) -> DashboardRow:
    """What one row of the dashboard shows, from a `with_course_state()` patient."""
    state = course_state(row, today=today)
    course_id = row.current_course_public_id
    active = state is not None
    return DashboardRow(
        patient=row,
        areas=focus_areas(row),
        progress_step=progress_step(row.sessions_done, row.planned_sessions),
        direction=phq9_direction(row),
        actions=ipt.next_actions(state) if active else [],
        course_url=reverse("course-detail", kwargs={"public_id": course_id}) if course_id else None,
        session_create_url=reverse("session-create", kwargs={"public_id": course_id}) if active else None,
        course_start_url=(
            reverse("course-start", kwargs={"public_id": row.public_id})
            if row.current_course_status != Course.Status.ACTIVE
            else None
        ),
    )


def _page_url(filters: DashboardFilters, number: int) -> str:
    return "?" + urlencode({**filters.query(), "page": number})


def _page_links(page: Page, filters: DashboardFilters) -> dict[str, str | None]:
    """First / previous / next / last page links, each keeping the filters in force."""
    last = page.paginator.num_pages
    return {
        "first": _page_url(filters, 1) if page.number > 1 else None,
        "previous": _page_url(filters, page.previous_page_number()) if page.has_previous() else None,
        "next": _page_url(filters, page.next_page_number()) if page.has_next() else None,
        "last": _page_url(filters, last) if page.number < last else None,
    }


@therapist_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The therapist's caseload: one row per patient with the course position and next actions.

    Searched by name and filtered by the status of the current course (active
    by default), its phase and problem area; 25 a page. Values that cannot be
    used fall back to the default, and the page says so.
    """
    form = DashboardFilterForm(request.GET)
    form.is_valid()
    filters = form.filters()
    notices = list(filters.notices)

    # The caseload only: a patient opened in an emergency is reachable, not "mine".
    patients = access.caseload_for(request.user).active().with_course_state()
    patients = patients.search(filters.q).with_course_status(filters.status)
    if filters.phase:
        patients = patients.in_phase(filters.phase)
    if filters.area:
        patients = patients.with_focus_area(filters.area)
    # The primary key breaks ties between namesakes, so that pages never overlap.
    patients = patients.order_by("family_name", "given_name", "pk")

    paginator = Paginator(patients, PAGE_SIZE)
    if filters.page is not None and filters.page > paginator.num_pages:
        notices.append(f"There is no page {filters.page}: showing page {paginator.num_pages}, the last.")
    page = paginator.get_page(filters.page)
    today = timezone.localdate()
    rows = [dashboard_row(patient, today=today) for patient in page.object_list]

    audit.record_list(request, page.object_list)
    context = {
        "form": form,
        "filters": filters,
        "notices": notices,
        "page": page,
        "rows": rows,
        "page_links": _page_links(page, filters),
    }
    return render(request, "therapist/home.html", context)


# --- Add a patient, start a course ---------------------------------------------------------------------


@therapist_required
@require_http_methods(["GET", "POST"])
def patient_create(request: HttpRequest) -> HttpResponse:
    """Add a patient to the signed-in therapist's caseload, then go on to start their course."""
    form = PatientForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            patient = patient_services.patient_create(
                therapist=request.user,
                given_name=data["given_name"],
                family_name=data["family_name"],
                date_of_birth=data["date_of_birth"],
                conditions=data["conditions"],
                conditions_other=data["conditions_other"],
                medication=data["medication"],
                presenting_concerns=data["presenting_concerns"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            audit.record(request, AuditEvent.Action.CREATE, patient, patient=patient)
            messages.success(request, f"{patient.full_name} added. Now set up their IPT course.")
            return redirect("course-start", public_id=patient.public_id)
    return render(request, "patients/new.html", {"form": form})


@staff_required
@require_http_methods(["GET", "POST"])
def course_start(request: HttpRequest, public_id: str) -> HttpResponse:
    """Start an IPT course for a patient: their treating therapist only (others 403, out of scope 404)."""
    patient = access.get_or_404(access.patients_for(request.user), public_id)
    access.require_treating_therapist(request.user, patient)
    active_course = access.courses_for(request.user).filter(patient=patient).active().first()

    form = CourseStartForm(request.POST if request.method == "POST" else None, patient=patient)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            course = patient_services.course_start(
                patient=patient,
                format=data["format"],
                planned_sessions=data["planned_sessions"],
                frequency=data["frequency"],
                start_date=data["start_date"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            audit.record(request, AuditEvent.Action.CREATE, course, patient=patient)
            messages.success(
                request,
                f"IPT course started: {course.planned_sessions} sessions from {course.start_date:%d %b %Y}.",
            )
            return redirect(reverse("course-detail", kwargs={"public_id": course.public_id}))
    if request.method == "GET":
        audit.record(request, AuditEvent.Action.VIEW, patient, patient=patient)
    return render(
        request,
        "patients/course_new.html",
        {"form": form, "patient": patient, "active_course": active_course},
    )


def _add_service_errors(form: Any, exc: ValidationError) -> None:
    """A service's refusal, shown on the form (at the field it names, if the form has it)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        for message in exc.messages:
            form.add_error(None, message)


urlpatterns = [
    path("therapist/", home, name="therapist-home"),
    path("patients/new/", patient_create, name="patient-create"),
    path("patients/<uuid:public_id>/courses/new/", course_start, name="course-start"),
]
