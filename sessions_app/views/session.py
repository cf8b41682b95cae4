"""The session log: one therapy session, its form, signing and addenda."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from sessions_app import access, audit
from sessions_app.decorators import staff_required
from sessions_app.models import AuditEvent


@staff_required
@require_GET
def session_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    user = request.user
    session = access.get_or_404(access.sessions_for(user), public_id)
    patient = session.course.patient
    context = {
        "session": session,
        "course": session.course,
        # Private notes belong to the treating therapist alone.
        "show_private_note": user.is_therapist and patient.therapist_id == user.pk,
        "measures": access.measures_for(user).filter(session=session),
        "goal_reviews": access.goal_reviews_for(user).filter(session=session).select_related("goal"),
        "addenda": access.addenda_for(user).filter(session=session).select_related("author"),
    }
    audit.record(request, AuditEvent.Action.VIEW, session, patient=patient)
    return render(request, "session/detail.html", context)


urlpatterns = [
    path("sessions/<uuid:public_id>/", session_detail, name="session-detail"),
]
