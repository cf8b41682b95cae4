"""Emergency ("break the glass") access: starting and ending a grant.

The view finds the patient through `access.emergency_candidates` and writes
the audit rows; these functions only write the grant.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from sessions_app.models import AuditEvent, EmergencyAccess, Patient, User

# Unmatched look-ups allowed per therapist per hour: enough for typing slips,
# too few to guess names and dates of birth of the clinic's patients.
LOOKUP_LIMIT = 5
LOOKUP_WINDOW = timedelta(hours=1)


def unmatched_lookups(user: User) -> int:
    """The user's look-ups in the last hour that matched no patient (DENIED audit rows)."""
    return AuditEvent.objects.filter(
        user=user,
        action=AuditEvent.Action.DENIED,
        object_type=EmergencyAccess.__name__,
        at__gte=timezone.now() - LOOKUP_WINDOW,
    ).count()


@transaction.atomic
def start(*, user: User, patient: Patient, reason: str) -> EmergencyAccess:
    """Open `patient` to `user` for EmergencyAccess.DURATION from now."""
    now = timezone.now()
    grant = EmergencyAccess(
        user=user, patient=patient, reason=reason, started_at=now, expires_at=now + EmergencyAccess.DURATION
    )
    grant.full_clean()
    grant.save()
    return grant


def end(grant: EmergencyAccess) -> None:
    """End a running grant now (the therapist has what they needed)."""
    now = timezone.now()
    if grant.expires_at > now:
        grant.expires_at = now
        grant.save(update_fields=["expires_at"])
