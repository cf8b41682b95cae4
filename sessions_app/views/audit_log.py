"""The clinic admin's audit log: every audit row of their clinic, filtered, paged, exported.

Rows come through `access.audit_events_for` (the admin's own clinic only).
The page is a fixed number of queries whatever the number of rows: the
patient's name is a correlated subquery limited to the clinic's patients,
never a query per row. Reading the log is itself audited (LIST), and so is
the CSV export (EXPORT).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import CharField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Concat
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from sessions_app import access, audit
from sessions_app.decorators import clinic_admin_required
from sessions_app.forms.audit_log import AuditFilterForm, AuditFilters
from sessions_app.models import AuditEvent, Patient

PAGE_SIZE = 50
CSV_COLUMNS = [
    "When",
    "Username",
    "Role",
    "Action",
    "Object type",
    "Object id",
    "Patient id",
    "Patient",
    "IP address",
    "Path",
]
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def with_patient_names(events: QuerySet[AuditEvent], clinic_id: int) -> QuerySet[AuditEvent]:
    """Annotate `patient_name` from the clinic's own patients (other clinics' names never appear)."""
    patients = Patient.objects.filter(clinic_id=clinic_id, public_id=OuterRef("patient_public_id"))
    name = Concat("given_name", Value(" "), "family_name", output_field=CharField())
    return events.annotate(patient_name=Subquery(patients.annotate(name=name).values("name")[:1]))


def _filtered(request: HttpRequest) -> tuple[AuditFilterForm, AuditFilters, list[Patient]]:
    form = AuditFilterForm(request.GET, clinic_id=request.user.clinic_id)
    form.is_valid()
    filters = form.filters()
    matched: list[Patient] = []
    if filters.patients is not None:
        matched = list(filters.patients.order_by("family_name", "given_name")[:2])
        if not matched:
            filters.notices.append(f"No patient of this clinic matches “{filters.patient_text}”.")
    return form, filters, matched


def _audited_patient(matched: list[Patient]) -> Patient | None:
    """The patient whose access history is being read, when the filter names exactly one."""
    return matched[0] if len(matched) == 1 else None


@clinic_admin_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """The clinic's audit trail, newest first, 50 a page."""
    form, filters, matched = _filtered(request)
    events = with_patient_names(
        filters.apply(access.audit_events_for(request.user)), request.user.clinic_id
    ).order_by("-at", "-id")
    paginator = Paginator(events, PAGE_SIZE)
    if filters.page is not None and filters.page > paginator.num_pages:
        filters.notices.append(
            f"There is no page {filters.page}: showing page {paginator.num_pages}, the last."
        )
    page = paginator.get_page(filters.page)
    rows = list(page.object_list)  # read before this visit's own rows are written
    carried = filters.query(request.GET.dict())
    # The page names patients: one LIST row for each (their access history shows it),
    # plus the patient the filter picked, if any.
    shown = {row.patient_public_id for row in rows if row.patient_name}
    if audited := _audited_patient(matched):
        shown.add(audited.public_id)
    audit.record_list(request, sorted(shown), object_type="AuditEvent")
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "events": rows,
        "page_links": _page_links(page, carried),
        "export_url": reverse("clinic-audit-export") + ("?" + urlencode(carried) if carried else ""),
    }
    return render(request, "clinic/audit/log.html", context)


def _page_links(page, carried: dict[str, str]) -> dict[str, str | None]:
    def url(number: int) -> str:
        return "?" + urlencode({**carried, "page": number})

    last = page.paginator.num_pages
    return {
        "first": url(1) if page.number > 1 else None,
        "previous": url(page.previous_page_number()) if page.has_previous() else None,
        "next": url(page.next_page_number()) if page.has_next() else None,
        "last": url(last) if page.number < last else None,
    }


def csv_safe(value: object) -> str:
    """A cell a spreadsheet shows as text: formula-starting values get a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for event in events.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                csv_safe(value)
                for value in (
                    timezone.localtime(event.at).isoformat(timespec="seconds"),
                    event.username,
                    event.role,
                    event.get_action_display(),
                    event.object_type,
                    event.object_id,
                    event.patient_public_id or "",
                    event.patient_name or "",
                    event.ip or "",
                    event.path,
                )
            ]
        )


@clinic_admin_required
@require_GET
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    """Every row matching the filters (not just one page) as CSV; the export is audited first."""
    _form, filters, matched = _filtered(request)
    events = with_patient_names(
        filters.apply(access.audit_events_for(request.user)), request.user.clinic_id
    ).order_by("-at", "-id")
    # Every patient named in the file gets an EXPORT row (their access history shows it).
    named = set(
        events.exclude(patient_name=None).order_by().values_list("patient_public_id", flat=True).distinct()
    )
    if audited := _audited_patient(matched):
        named.add(audited.public_id)
    audit.record_list(request, sorted(named), object_type="AuditEvent", action=AuditEvent.Action.EXPORT)
    response = StreamingHttpResponse(_csv_rows(events), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
    return response


urlpatterns = [
    path("clinic/audit/", audit_log, name="clinic-audit-log"),
    path("clinic/audit/export.csv", audit_export, name="clinic-audit-export"),
]
