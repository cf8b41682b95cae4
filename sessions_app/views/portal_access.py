"""The portal's "Who has viewed my record": each staff access to the signed-in patient's record.

Read from the audit trail: rows naming this patient's public id whose action
is a read (opened, listed, exported) or an emergency access, by a therapist
or clinic admin. The patient's own portal visits are not listed, and nothing
about other patients is read: the filter is this patient's id. Repeated
accesses by one person in one way on one day are one line with a count, so
that being listed on a therapist's dashboard fifty times does not bury the
time someone opened the record. GET only, patients only; reading it is
itself audited.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count, Max
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from sessions_app import access, audit
from sessions_app.decorators import patient_required
from sessions_app.models import AuditEvent, User

PAGE_SIZE = 25
SHOWN_ACTIONS = [
    AuditEvent.Action.VIEW,
    AuditEvent.Action.LIST,
    AuditEvent.Action.EXPORT,
    AuditEvent.Action.EMERGENCY_ACCESS,
]
STAFF_ROLES = [User.Role.THERAPIST, User.Role.CLINIC_ADMIN]
# What each kind of access means, in the patient's words.
WORDS = {
    AuditEvent.Action.VIEW: "Opened your record",
    AuditEvent.Action.LIST: "Saw your name in a list of patients",
    AuditEvent.Action.EXPORT: "Included you in an export",
    AuditEvent.Action.EMERGENCY_ACCESS: "Opened your record using emergency access",
}
ROLE_WORDS = {User.Role.THERAPIST: "Therapist", User.Role.CLINIC_ADMIN: "Clinic administrator"}


@require_GET
@patient_required
def access_log(request: HttpRequest) -> HttpResponse:
    """Date, role and name of each staff access to my record, newest first, 25 lines a page."""
    patient = access.patients_for(request.user).first()
    notices: list[str] = []
    page = None
    lines: list[dict] = []
    if patient is not None:
        accesses = (
            AuditEvent.objects.filter(
                patient_public_id=patient.public_id, action__in=SHOWN_ACTIONS, role__in=STAFF_ROLES
            )
            .annotate(day=TruncDate("at", tzinfo=timezone.get_current_timezone()))
            .values("day", "user_id", "role", "action", "user__first_name", "user__last_name", "username")
            .annotate(times=Count("id"), last_at=Max("at"))
            .order_by("-day", "-last_at", "user_id", "action")
        )
        paginator = Paginator(accesses, PAGE_SIZE)
        wanted = request.GET.get("page")
        if wanted is not None and not (wanted.isdigit() and 1 <= int(wanted) <= paginator.num_pages):
            notices.append(f"There is no page “{wanted[:20]}”: showing page 1.")
            wanted = "1"
        page = paginator.get_page(wanted)
        lines = [_line(row) for row in page.object_list]
    audit.record(request, AuditEvent.Action.VIEW, object_type="AuditEvent", patient=patient)
    context = {"portal_page": "access", "page": page, "lines": lines, "notices": notices}
    return render(request, "portal/access_log.html", context)


def _line(row: dict) -> dict:
    name = f"{row['user__first_name']} {row['user__last_name']}".strip() or row["username"]
    return {
        "day": row["day"],
        "last_at": row["last_at"],
        "role": ROLE_WORDS.get(row["role"], row["role"]),
        "name": name,
        "what": WORDS[row["action"]],
        "times": row["times"],
    }


urlpatterns = [
    path("portal/access/", access_log, name="portal-access-log"),
]
