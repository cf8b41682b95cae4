"""Pages every role shares: the home redirect, health check, record pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from sessions_app import access, audit
from sessions_app.decorators import staff_required
from sessions_app.models import AuditEvent, Course, Goal, User

HOME_BY_ROLE = {
    User.Role.THERAPIST: "therapist-home",
    User.Role.CLINIC_ADMIN: "clinic-home",
    User.Role.PATIENT: "portal-home",
}


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its own home page."""
    target = HOME_BY_ROLE.get(request.user.role)
    if target is None:
        # Superusers and role-less accounts have no clinical home.
        if request.user.is_superuser:
            return redirect("admin:index")
        raise PermissionDenied("Your account has no role in a clinic.")
    return redirect(target)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers and can reach the database; writes nothing."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "version": settings.VERSION})


@staff_required
@require_GET
def patient_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    patient = access.get_or_404(access.patients_for(request.user).select_related("therapist"), public_id)
    courses = list(access.courses_for(request.user).filter(patient=patient))
    # Only the treating therapist starts a course, and only one runs at a time.
    can_start_course = (
        request.user.pk == patient.therapist_id
        and patient.archived_at is None
        and not any(course.status == Course.Status.ACTIVE for course in courses)
    )
    audit.record(request, AuditEvent.Action.VIEW, patient, patient=patient)
    context = {"patient": patient, "courses": courses, "can_start_course": can_start_course}
    return render(request, "patients/detail.html", context)


def goals_with_latest_review(goals: QuerySet[Goal]) -> list[Goal]:
    """Attach `latest_review` to each goal from its prefetched reviews."""
    goals = list(goals)
    for goal in goals:
        reviews = list(goal.reviews.all())
        goal.latest_review = reviews[-1] if reviews else None
    return goals
