"""A course's change history page: for the treating therapist and the clinic admin.

Who changed what, when, from django-simple-history (`sessions_app.change_history`).
The clinic admin sees that a private field changed, never its values. Other
therapists get 403 (like every write page of a patient they do not treat) and
rows outside the user's scope 404. Reading it is audited.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from sessions_app import access, audit
from sessions_app.change_history import course_history
from sessions_app.decorators import staff_required
from sessions_app.models import AuditEvent

PAGE_SIZE = 50


@staff_required
@require_GET
def course_history_page(request: HttpRequest, public_id: str) -> HttpResponse:
    """Every change to the course and the records under it, newest first, 50 a page."""
    user = request.user
    course = access.get_or_404(access.courses_for(user), public_id)
    treating = user.is_therapist and course.patient.therapist_id == user.pk
    if not (treating or user.is_clinic_admin):
        raise PermissionDenied("The change history is for the patient's therapist and the clinic admin.")
    entries = course_history(course, show_private=treating)
    paginator = Paginator(entries, PAGE_SIZE)
    wanted = request.GET.get("page")
    notices = []
    if wanted is not None and not (wanted.isdigit() and 1 <= int(wanted) <= paginator.num_pages):
        notices.append(f"There is no page “{wanted[:20]}”: showing page 1.")
        wanted = "1"
    page = paginator.get_page(wanted)
    audit.record(request, AuditEvent.Action.VIEW, course, patient=course.patient, object_type="CourseHistory")
    context = {
        "course": course,
        "patient": course.patient,
        "page": page,
        "show_private": treating,
        "notices": notices,
    }
    return render(request, "course/history.html", context)


urlpatterns = [
    path("courses/<uuid:public_id>/history/", course_history_page, name="course-history"),
]
