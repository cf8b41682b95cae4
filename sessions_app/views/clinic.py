"""The clinic admin's pages."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sessions_app import access, audit
from sessions_app.decorators import clinic_admin_required
from sessions_app.models import AuditEvent
from sessions_app.views.therapist import PAGE_SIZE


@clinic_admin_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The clinic's patients with their therapist and course position."""
    patients = access.patients_for(request.user).active().with_current_course().select_related("therapist")
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    audit.record(request, AuditEvent.Action.LIST, object_type="Patient")
    return render(request, "clinic/home.html", {"page": page})
