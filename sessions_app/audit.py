"""Writing the audit trail. Rows say who, what, which record and from where;
never clinical content."""

from __future__ import annotations

from django.db import models
from django.http import HttpRequest

from sessions_app.models import AuditEvent, Patient, User


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def record(
    request: HttpRequest,
    action: str,
    obj: models.Model | None = None,
    *,
    patient: Patient | None = None,
    user: User | None = None,
    username: str = "",
    object_type: str = "",
) -> AuditEvent:
    """Append one audit row for `request`."""
    actor = user if user is not None else request.user
    actor = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        user=actor,
        username=actor.username if actor else username[:150],
        role=actor.role if actor else "",
        clinic_id=actor.clinic_id if actor else None,
        action=action,
        object_type=object_type or (type(obj).__name__ if obj is not None else ""),
        object_id=str(getattr(obj, "public_id", "") or ""),
        patient_public_id=patient.public_id if patient is not None else None,
        ip=client_ip(request),
        path=request.path[:500],
    )
