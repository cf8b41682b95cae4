"""The patient's read-only portal. Every view is GET-only."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sessions_app import access, audit
from sessions_app.decorators import patient_required
from sessions_app.models import AuditEvent
from sessions_app.views.common import goals_with_latest_review


@patient_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """My goals: the goals the therapist shared, with their latest review."""
    user = request.user
    goals = (
        access.goals_for(user)
        .select_related("focus")
        .prefetch_related(
            Prefetch("reviews", queryset=access.goal_reviews_for(user).select_related("session"))
        )
        .order_by("focus__course__start_date", "focus__created_at", "created_at")
    )
    patient = access.patients_for(user).first()
    audit.record(request, AuditEvent.Action.VIEW, object_type="Goal", patient=patient)
    return render(request, "portal/home.html", {"goals": goals_with_latest_review(goals)})
