"""Authentication events go to the audit trail."""

from __future__ import annotations

import time

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from sessions_app import audit, two_factor
from sessions_app.auth_middleware import SIGNED_IN_AT_SESSION_KEY, TOUCHED_AT_SESSION_KEY
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


# --- Authentication and sessions (issue 5) ----------------------------------------------------------


@receiver(user_logged_in)
def _start_session_clock(sender, request, user, **kwargs) -> None:
    # The 12-hour limit counts from the password sign-in (SessionLifetimeMiddleware),
    # and the two-factor gate reads the enrolment state from the session.
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT_SESSION_KEY] = request.session[TOUCHED_AT_SESSION_KEY] = int(time.time())
        two_factor.remember_state(request.session, user)


@receiver(user_locked_out)
def _locked_out(sender, request, username, ip_address, **kwargs) -> None:
    # axes sends this when a failure locks the account, and again for each attempt
    # refused while locked; only the first is a new lockout (axes counted that
    # failure, so it set axes_failures_since_start). The refusals are already
    # LOGIN_FAILED rows.
    if request is not None and getattr(request, "axes_failures_since_start", None) is not None:
        audit.record(request, AuditEvent.Action.LOCKOUT, username=str(username or ""))
