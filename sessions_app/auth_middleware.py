"""Session rules that Django's settings cannot express on their own.

* `SessionLifetimeMiddleware`:
  - idle limit: a session expires `SESSION_COOKIE_AGE` (15 minutes) after it
    was last saved. Rather than save it on every request
    (`SESSION_SAVE_EVERY_REQUEST`, a database write per page), it is saved
    ("touched") when the last touch is `IPT_SESSION_TOUCH_SECONDS` (60 s) old,
    so the limit slides with activity at one write a minute at most; an idle
    session ends 14 to 15 minutes after its last request;
  - absolute limit: a session ends `IPT_SESSION_MAX_AGE` (12 hours) after
    sign-in however active it is.
* `TwoFactorMiddleware`: after the password, an account with an authenticator
  reaches nothing but the code page until the code is right, and a staff
  account that must use two-factor authentication but has none reaches
  nothing but the enrolment page.

The checks that need to know the view work in `process_view`, after
`LoginRequiredMiddleware` has turned anonymous visitors away, so that pages
marked `login_not_required` (sign-in, health check) and `two_factor_exempt`
(the two-factor pages, sign-out) can be told apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse

from sessions_app import two_factor

# Unix time of the password sign-in, written by the user_logged_in receiver (signals.py).
SIGNED_IN_AT_SESSION_KEY = "ipt_signed_in_at"
# Unix time the session was last saved on purpose to move its idle expiry.
TOUCHED_AT_SESSION_KEY = "ipt_touched_at"

View = Callable[..., HttpResponse]


def two_factor_exempt(view: View) -> View:
    """Mark a view that a signed-in user may reach before passing the second factor."""
    view.two_factor_exempt = True  # type: ignore[attr-defined]
    return view


def _is_public(view: View) -> bool:
    return getattr(view, "login_required", True) is False


def login_redirect(next_url: str) -> HttpResponseRedirect:
    """To the sign-in page, coming back to `next_url` afterwards."""
    return HttpResponseRedirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': next_url})}")


def _redirect_with_next(url_name: str, request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(url_name)}?{urlencode({'next': request.get_full_path()})}")


def touch(request: HttpRequest) -> None:
    """Save the session at the end of this request, moving its idle expiry to now + SESSION_COOKIE_AGE."""
    request.session[TOUCHED_AT_SESSION_KEY] = int(time.time())


def idle_seconds_left(request: HttpRequest) -> int:
    """Seconds until the session expires if nothing else happens (for static/js/idle.js)."""
    touched = request.session.get(TOUCHED_AT_SESSION_KEY)
    if not isinstance(touched, int | float):
        return settings.SESSION_COOKIE_AGE
    return max(0, int(touched + settings.SESSION_COOKIE_AGE - time.time()))


class SessionLifetimeMiddleware:
    """Slides the idle expiry (one write a minute at most) and ends sessions older than 12 hours."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            touched = request.session.get(TOUCHED_AT_SESSION_KEY)
            last_touch = touched if isinstance(touched, int | float) else 0
            if time.time() - last_touch >= settings.IPT_SESSION_TOUCH_SECONDS:
                # Modified, so SessionMiddleware saves it with a fresh expiry.
                touch(request)
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: View, args, kwargs) -> HttpResponse | None:
        if not request.user.is_authenticated:
            return None
        signed_in_at = request.session.get(SIGNED_IN_AT_SESSION_KEY)
        # No sign-in time means the session was not made by our sign-in: fail closed.
        age = time.time() - signed_in_at if isinstance(signed_in_at, int | float) else None
        if age is not None and age < settings.IPT_SESSION_MAX_AGE:
            return None
        logout(request)
        messages.info(request, "Your session reached its time limit. Please sign in again.")
        if _is_public(view):
            return None  # the sign-in page itself: show it, now to an anonymous visitor
        return login_redirect(request.get_full_path())


class TwoFactorMiddleware:
    """Keeps a signed-in user on the two-factor pages until the second factor is done."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: View, args, kwargs) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or _is_public(view) or getattr(view, "two_factor_exempt", False):
            return None
        if user.is_verified():
            return None
        state = request.session.get(two_factor.STATE_SESSION_KEY)
        if state is None:
            # A session from before this gate existed: look once, then remember.
            two_factor.remember_state(request.session, user)
            state = request.session[two_factor.STATE_SESSION_KEY]
        if state == two_factor.ENROLLED:
            return _redirect_with_next("two-factor-verify", request)
        if two_factor.required_for(user):
            return _redirect_with_next("two-factor-setup", request)
        return None
