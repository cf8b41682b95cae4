"""A small per-address failure counter for public pages (the activation link).

Guessing a token is hopeless (an HMAC keyed on SECRET_KEY), so this is about
manners, not secrecy: an address that keeps presenting bad links is told to
wait instead of making the server check more of them. Only failures count,
so a person with a good link is never slowed down. The counter lives in the
default cache: per process without Redis, shared with REDIS_URL.
"""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest

from sessions_app.audit import client_ip

FAILURE_LIMIT = 20
WINDOW_SECONDS = 15 * 60


def _key(scope: str, request: HttpRequest) -> str:
    return f"throttle:{scope}:{client_ip(request) or 'unknown'}"


def is_blocked(scope: str, request: HttpRequest) -> bool:
    """This address has failed `FAILURE_LIMIT` times within the window."""
    return cache.get(_key(scope, request), 0) >= FAILURE_LIMIT


def note_failure(scope: str, request: HttpRequest) -> None:
    """Count one failure; the window starts at the first one."""
    key = _key(scope, request)
    # add() only sets a missing key, so the first failure fixes the window's end.
    if not cache.add(key, 1, timeout=WINDOW_SECONDS):
        try:
            cache.incr(key)
        except ValueError:
            # Expired between add() and incr(): start a new window.
            cache.add(key, 1, timeout=WINDOW_SECONDS)
