"""The clinic admin's caseload review: the dashboard, the list behind each figure, the CSV export.

The figures and lists come from `sessions_app.caseload`; these views only
read the filters, call it, write the audit row and render.
"""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from sessions_app import access, audit, caseload, ipt
from sessions_app.decorators import clinic_admin_required
from sessions_app.forms.caseload import CaseloadFilterForm
from sessions_app.models import AuditEvent, User


def _filters(request: HttpRequest) -> tuple[CaseloadFilterForm, caseload.CaseloadFilters, list[User]]:
    therapists = list(access.therapists_for(request.user).order_by("last_name", "first_name", "pk"))
    form = CaseloadFilterForm(request.GET, therapists=therapists, today=timezone.localdate())
    return form, form.filters(), therapists


@clinic_admin_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The caseload dashboard: headline figures, per-therapist table, outcomes and chart."""
    form, filters, therapists = _filters(request)
    courses = caseload.courses(request.user, filters, today=timezone.localdate())
    headline, therapist_rows = caseload.therapist_figures(courses, filters, therapists)
    outcomes = caseload.outcomes(courses, filters, therapists)
    audit.record(request, AuditEvent.Action.LIST, object_type="Course")
    context = {
        "form": form,
        "filters": filters,
        "headline": headline,
        "therapist_rows": therapist_rows,
        "outcomes": outcomes,
        "outcome_columns": caseload.OUTCOME_COLUMNS,
        "definitions": caseload.outcome_definitions(),
        "phases": ipt.Phase.choices,
        "export_url": filters.url("clinic-export"),
        "is_filtered": bool(request.GET),
        "overdue_days": ipt.OVERDUE_AFTER_DAYS,
        "sign_hours": ipt.SIGN_NOTES_WITHIN_HOURS,
    }
    return render(request, "clinic/home.html", context)


@clinic_admin_required
@require_GET
def patient_list(request: HttpRequest) -> HttpResponse:
    """The courses behind one dashboard figure, by patient name, 25 a page: structured data only."""
    form, filters, _ = _filters(request)
    courses = caseload.courses(request.user, filters, today=timezone.localdate())
    selected = caseload.figure_courses(courses, filters)
    notices = list(filters.notices)
    paginator = Paginator(selected, caseload.PAGE_SIZE)
    if filters.page is not None and filters.page > paginator.num_pages:
        notices.append(f"There is no page {filters.page}: showing page {paginator.num_pages}, the last.")
    page = paginator.get_page(filters.page)
    rows = (
        list(page.object_list)
        if isinstance(selected, caseload.CourseQuerySet)
        else caseload.rows_for(courses.select_related("patient", "therapist"), page.object_list)
    )
    caseload.attach_areas(rows)
    audit.record_list(request, caseload.patients_of(rows), object_type="Course")

    def page_url(number: int) -> str:
        return "?" + urlencode(filters.params(figure=filters.figure, page=str(number)))

    context = {
        "form": form,
        "filters": filters,
        "figure": caseload.FIGURES[filters.figure],
        "notices": notices,
        "page": page,
        "rows": rows,
        "page_links": {
            "previous": page_url(page.previous_page_number()) if page.has_previous() else None,
            "next": page_url(page.next_page_number()) if page.has_next() else None,
        },
        "export_url": filters.url("clinic-export", figure=filters.figure),
        "dashboard_url": filters.url("clinic-home"),
        "clear_url": f"{reverse('clinic-patients')}?{urlencode({'figure': filters.figure})}",
    }
    return render(request, "clinic/patients.html", context)


@clinic_admin_required
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    """The filtered caseload as CSV, one row per course, never free text; every export audited.

    Filters that cannot be used export nothing: the list page says what was wrong.
    """
    _, filters, _ = _filters(request)
    if filters.notices:
        messages.error(request, "Nothing was exported: some filters could not be used (see below).")
        return redirect(f"{reverse('clinic-patients')}?{request.GET.urlencode()}")
    courses = caseload.courses(request.user, filters, today=timezone.localdate())
    selected = caseload.figure_courses(courses, filters)
    if not isinstance(selected, caseload.CourseQuerySet):
        selected = caseload.rows_for(courses, selected)
    rows = list(selected)
    # One row per patient whose data left the app, so their access history shows the export.
    audit.record_list(
        request, caseload.patients_of(rows), object_type="Course", action=AuditEvent.Action.EXPORT
    )
    today = timezone.localdate()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = filters.figure.replace(":", "-").replace("_", "-")
    response["Content-Disposition"] = f'attachment; filename="caseload-{name}-{today:%Y-%m-%d}.csv"'
    writer = csv.writer(response)
    writer.writerows(caseload.csv_rows(rows))
    return response


urlpatterns = [
    path("clinic/", home, name="clinic-home"),
    path("clinic/patients/", patient_list, name="clinic-patients"),
    path("clinic/export/", export, name="clinic-export"),
]
