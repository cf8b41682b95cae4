"""The therapist's pages."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from sessions_app import access, audit
from sessions_app.decorators import therapist_required
from sessions_app.models import AuditEvent

PAGE_SIZE = 25


@therapist_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The therapist's caseload: one row per active patient with their course position."""
    patients = access.patients_for(request.user).active().with_current_course()
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    audit.record(request, AuditEvent.Action.LIST, object_type="Patient")
    return render(request, "therapist/home.html", {"page": page})


urlpatterns = [
    path("therapist/", home, name="therapist-home"),
]
