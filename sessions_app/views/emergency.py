"""Emergency ("break the glass") access to a patient outside the therapist's caseload.

The one way in is this page: the patient's exact given name, family name and
date of birth, and a written reason. Nothing is listed or suggested, so the
page cannot be used to browse the clinic's patients, and look-ups that match
nobody are audited and limited. A match opens the patient read-only for
four hours (`access.py` widens the therapist's read scope; writes still need
the treating therapist), leaves an EMERGENCY_ACCESS audit row under the
patient, and shows on the clinic admin's dashboard.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods, require_POST

from sessions_app import access, audit
from sessions_app.decorators import therapist_required
from sessions_app.forms.emergency import EmergencyAccessForm
from sessions_app.models import AuditEvent, EmergencyAccess
from sessions_app.services import emergency as emergency_services

NO_MATCH = (
    "No patient of your clinic has exactly this name and date of birth. Check the spelling and the date; "
    "the name must be complete."
)
AMBIGUOUS = "More than one patient matches. Ask your clinic admin, who can see the whole clinic."
TOO_MANY_LOOKUPS = (
    "Too many look-ups matched nobody in the last hour, so emergency look-ups are paused for you. "
    "Ask your clinic admin."
)


@therapist_required
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """Find a patient by exact name and date of birth and open their record for four hours."""
    user = request.user
    form = EmergencyAccessForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        if emergency_services.unmatched_lookups(user) >= emergency_services.LOOKUP_LIMIT:
            form.add_error(None, TOO_MANY_LOOKUPS)
            status = 429
        else:
            data = form.cleaned_data
            matches = list(
                access.emergency_candidates(
                    user,
                    given_name=data["given_name"],
                    family_name=data["family_name"],
                    date_of_birth=data["date_of_birth"],
                )[:2]
            )
            if len(matches) != 1:
                audit.record(request, AuditEvent.Action.DENIED, object_type=EmergencyAccess.__name__)
                form.add_error(None, NO_MATCH if not matches else AMBIGUOUS)
            else:
                return _open(request, matches[0], data["reason"])
    running = list(access.emergency_accesses_for(user).filter(expires_at__gt=timezone.now()))
    # The page lists the patients the therapist holds emergency access to.
    audit.record_list(request, [grant.patient for grant in running], object_type=EmergencyAccess.__name__)
    return render(
        request,
        "emergency/start.html",
        {"form": form, "running": running, "hours": int(EmergencyAccess.DURATION.total_seconds() // 3600)},
        status=status,
    )


def _open(request: HttpRequest, patient, reason: str) -> HttpResponse:
    if patient.therapist_id == request.user.pk:
        messages.info(request, f"{patient.full_name} is in your caseload: no emergency access is needed.")
        return redirect(patient.get_absolute_url())
    grant = emergency_services.start(user=request.user, patient=patient, reason=reason)
    audit.record(request, AuditEvent.Action.EMERGENCY_ACCESS, grant, patient=patient)
    until = date_format(timezone.localtime(grant.expires_at), "H:i")
    messages.warning(
        request,
        f"Emergency access to {patient.full_name} until {until}: read-only. "
        "Your clinic admin sees this access and the reason, and every page you open is logged.",
    )
    return redirect(patient.get_absolute_url())


@therapist_required
@require_POST
def end(request: HttpRequest, public_id: str) -> HttpResponse:
    """End one of the therapist's own running grants early."""
    grant = access.get_or_404(access.emergency_accesses_for(request.user), public_id)
    emergency_services.end(grant)
    audit.record(request, AuditEvent.Action.UPDATE, grant, patient=grant.patient)
    messages.success(request, f"Emergency access to {grant.patient.full_name} ended.")
    return redirect("emergency-access")


urlpatterns = [
    path("emergency-access/", start, name="emergency-access"),
    path("emergency-access/<uuid:public_id>/end/", end, name="emergency-access-end"),
]
