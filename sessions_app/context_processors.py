"""Template context every page needs."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from sessions_app.auth_middleware import idle_seconds_left


def session_timeout(request: HttpRequest) -> dict[str, int]:
    """Seconds left before the idle limit, and the warning lead, for static/js/idle.js (<body> data)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "session_idle_seconds": idle_seconds_left(request),
        "session_warning_seconds": settings.IPT_SESSION_WARNING_SECONDS,
    }
