"""Writing the audit trail. Rows say who, what, which record and from where;
never clinical content."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from django.db import models
from django.http import HttpRequest

import sessions_app.client_ip
from sessions_app.models import AuditEvent, Patient, User


def client_ip(request: HttpRequest) -> str | None:
    # The same address django-axes counts failures against (trusted proxies only).
    return sessions_app.client_ip.client_ip(request)


def _event(
    request: HttpRequest,
    action: str,
    obj: models.Model | None = None,
    *,
    patient: Patient | None = None,
    user: User | None = None,
    username: str = "",
    object_type: str = "",
    object_id: str = "",
) -> AuditEvent:
    """An unsaved audit row for `request` (see `record`)."""
    actor = user if user is not None else getattr(request, "user", None)
    actor = actor if getattr(actor, "is_authenticated", False) else None
    clinic_id = actor.clinic_id if actor else None
    if actor is None and username:
        # A failed login names an account, not a signed-in user: file the row
        # under that account's clinic so its admin sees attempts on their staff.
        clinic_id = User.objects.filter(username=username[:150]).values_list("clinic_id", flat=True).first()
    return AuditEvent(
        user=actor,
        username=actor.username if actor else username[:150],
        role=actor.role if actor else "",
        clinic_id=clinic_id,
        action=action,
        object_type=object_type or (type(obj).__name__ if obj is not None else ""),
        object_id=object_id or str(getattr(obj, "public_id", "") or ""),
        patient_public_id=patient.public_id if patient is not None else None,
        ip=client_ip(request),
        path=request.path[:500],
    )


def record(
    request: HttpRequest,
    action: str,
    obj: models.Model | None = None,
    *,
    patient: Patient | None = None,
    user: User | None = None,
    username: str = "",
    object_type: str = "",
    object_id: str = "",
) -> AuditEvent:
    """Append one audit row for `request`."""
    event = _event(
        request,
        action,
        obj,
        patient=patient,
        user=user,
        username=username,
        object_type=object_type,
        object_id=object_id,
    )
    event.save()
    return event


def record_list(
    request: HttpRequest,
    patients: Iterable[Patient | UUID],
    *,
    object_type: str = "Patient",
    action: str = AuditEvent.Action.LIST,
) -> list[AuditEvent]:
    """Record what a list page showed (or an export held): one row per patient, in one INSERT.

    `patients` are Patient rows or their public ids. Per-patient rows let the
    patient's own access history and the admin's patient filter find list
    views and exports too. An empty list still leaves one row (no patient),
    so the page's query count does not depend on its content.
    """
    events = []
    for patient in patients:
        event = _event(request, action, object_type=object_type)
        event.patient_public_id = patient.public_id if isinstance(patient, Patient) else patient
        if object_type == "Patient":
            event.object_id = str(event.patient_public_id)
        events.append(event)
    if not events:
        events = [_event(request, action, object_type=object_type)]
    return AuditEvent.objects.bulk_create(events, batch_size=500)
