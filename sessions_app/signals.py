"""Authentication events go to the audit trail."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from sessions_app import audit
from sessions_app.models import AuditEvent, SignedSessionLocked, TherapySession


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs) -> None:
    if request is not None:
        audit.record(request, AuditEvent.Action.LOGIN, user=user)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs) -> None:
    if request is not None and user is not None:
        audit.record(request, AuditEvent.Action.LOGOUT, user=user)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    if request is not None:
        # Only the typed username, never the password.
        audit.record(request, AuditEvent.Action.LOGIN_FAILED, username=str(credentials.get("username", "")))


@receiver(m2m_changed)
def _lock_signed_session_links(sender, instance, action, **kwargs) -> None:
    # foci, people discussed and joint attendees are part of the signed note too.
    if (
        action.startswith("pre_")
        and isinstance(instance, TherapySession)
        and TherapySession.objects.filter(pk=instance.pk, signed_at__isnull=False).exists()
    ):
        raise SignedSessionLocked(instance)
