"""The course page and the course-level actions."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from sessions_app import access, audit
from sessions_app.decorators import staff_required
from sessions_app.models import AuditEvent


@staff_required
@require_GET
def course_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    user = request.user
    course = access.get_or_404(access.courses_for(user), public_id)
    goals = (
        access.goals_for(user)
        .filter(focus__course=course)
        .prefetch_related(
            Prefetch("reviews", queryset=access.goal_reviews_for(user).select_related("session"))
        )
    )
    context = {
        "course": course,
        "foci": access.foci_for(user).filter(course=course).select_related("person"),
        "goals": goals,
        "sessions": access.sessions_for(user).filter(course=course),
        "relationships": access.relationships_for(user).filter(course=course),
        "measures": access.measures_for(user).filter(course=course),
    }
    audit.record(request, AuditEvent.Action.VIEW, course, patient=course.patient)
    return render(request, "course/detail.html", context)


urlpatterns = [
    path("courses/<uuid:public_id>/", course_detail, name="course-detail"),
]
