"""The signed-in user's own account: two-factor authentication and the session clock.

Two-factor pages (sessions_app/two_factor.py has the rules):

* set up: a new secret as a QR code and as a key to type, confirmed with a
  code from the app; then the backup codes, shown once;
* verify: the code after the password, every sign-in of an enrolled account;
* manage: new backup codes, or remove the authenticator (password first);
* a clinic admin resets a staff member's lost authenticator.

The session clock: `session-ping` keeps an active page's session alive,
`session-timeout` is where static/js/idle.js sends a page whose session ran out.
"""

from __future__ import annotations

from datetime import timedelta

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice

from sessions_app import access, audit, two_factor
from sessions_app.auth_middleware import login_redirect, touch, two_factor_exempt
from sessions_app.decorators import clinic_admin_required
from sessions_app.forms.two_factor import CodeForm, PasswordConfirmForm
from sessions_app.models import AuditEvent


def _next_url(request: HttpRequest) -> str:
    """The page to go on to: a local `next` from the query or form, else the home page."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url("home")


def _with_next(url_name: str, request: HttpRequest) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': _next_url(request)})}"


# --- Two-factor authentication ---------------------------------------------------------------------------


@never_cache
@two_factor_exempt
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: QR code and typed key, confirmed with a code."""
    user = request.user
    if two_factor.has_authenticator(user) and not user.is_verified():
        # Only a session that passed the current authenticator may replace it:
        # a stolen password alone must not be enough to enrol the thief's phone.
        return redirect(_with_next("two-factor-verify", request))
    secret = request.session.get(two_factor.SETUP_KEY_SESSION_KEY)
    if not secret:
        secret = request.session[two_factor.SETUP_KEY_SESSION_KEY] = two_factor.new_secret()
    form = CodeForm(
        request.POST or None,
        label="Code from your app",
        help_text="The six-digit code your app shows now.",
    )
    if request.method == "POST" and form.is_valid():
        enrolment = two_factor.enrol(user, secret, form.cleaned_data["code"])
        if enrolment is None:
            form.add_error(
                "code", "That code does not match. Check the app shows IPT Tracker and try its newest code."
            )
        else:
            del request.session[two_factor.SETUP_KEY_SESSION_KEY]
            two_factor.mark_verified(request, enrolment.device)
            request.session[two_factor.NEW_CODES_SESSION_KEY] = enrolment.backup_codes
            audit.record(request, AuditEvent.Action.CREATE, object_type="TOTPDevice")
            messages.success(request, "Two-factor authentication is on for your account.")
            return redirect(_with_next("two-factor-backup-codes", request))
    uri = two_factor.provisioning_uri(user, secret)
    return render(
        request,
        "account/two_factor_setup.html",
        {
            "form": form,
            "qr": two_factor.qr_svg(uri),
            "manual_key": two_factor.manual_key(secret),
            "required": two_factor.required_for(user),
            "replacing": two_factor.has_authenticator(user),
            "next": _next_url(request),
        },
    )


@never_cache
@require_GET
def two_factor_backup_codes(request: HttpRequest) -> HttpResponse:
    """The backup codes made a moment ago, shown this once (then gone from the session)."""
    codes = request.session.pop(two_factor.NEW_CODES_SESSION_KEY, None)
    return render(
        request,
        "account/two_factor_backup_codes.html",
        {"codes": codes, "next": _next_url(request)},
    )


@never_cache
@two_factor_exempt
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the app, or a backup code."""
    user = request.user
    if user.is_verified():
        return HttpResponseRedirect(_next_url(request))
    if not two_factor.has_authenticator(user):
        # Removed in another session since this one signed in.
        two_factor.remember_state(request.session, user)
        if two_factor.required_for(user):
            return redirect(_with_next("two-factor-setup", request))
        return HttpResponseRedirect(_next_url(request))
    form = CodeForm(
        request.POST or None,
        label="Code",
        help_text="The six-digit code from your authenticator app, or one of your backup codes.",
    )
    if request.method == "POST" and form.is_valid():
        result = two_factor.verify(user, form.cleaned_data["code"])
        if result.ok:
            two_factor.mark_verified(request, result.device)
            audit.record(request, AuditEvent.Action.LOGIN, object_type=type(result.device).__name__)
            if isinstance(result.device, StaticDevice):
                left = two_factor.backup_codes_left(user)
                messages.warning(
                    request,
                    f"You used a backup code; {left} left. "
                    "Make new ones on your two-factor page if you run low.",
                )
            return HttpResponseRedirect(_next_url(request))
        audit.record(request, AuditEvent.Action.LOGIN_FAILED, object_type="OTP")
        if result.throttled:
            form.add_error("code", "Too many wrong codes in a row. Wait a minute, then try the newest code.")
        else:
            form.add_error("code", "That code is not right. Try the newest code from your app.")
    return render(request, "account/two_factor_verify.html", {"form": form, "next": _next_url(request)})


@never_cache
@require_GET
def two_factor_manage(request: HttpRequest) -> HttpResponse:
    """Whether two-factor authentication is on, and what can be changed."""
    user = request.user
    enrolled = two_factor.has_authenticator(user)
    return render(
        request,
        "account/two_factor_manage.html",
        {
            "enrolled": enrolled,
            "required": two_factor.required_for(user),
            "codes_left": two_factor.backup_codes_left(user) if enrolled else 0,
            "codes_form": PasswordConfirmForm(request=request, user=user, prefix="codes"),
            "remove_form": PasswordConfirmForm(request=request, user=user, prefix="remove"),
        },
    )


@never_cache
@require_POST
def two_factor_new_codes(request: HttpRequest) -> HttpResponse:
    """A fresh set of backup codes (the old ones stop working); password first."""
    user = request.user
    form = PasswordConfirmForm(request.POST, request=request, user=user, prefix="codes")
    if not two_factor.has_authenticator(user):
        return redirect("two-factor-manage")
    if not form.is_valid():
        return _manage_with_errors(request, codes_form=form)
    request.session[two_factor.NEW_CODES_SESSION_KEY] = two_factor.new_backup_codes(user)
    audit.record(request, AuditEvent.Action.UPDATE, object_type="StaticDevice")
    return redirect("two-factor-backup-codes")


@never_cache
@require_POST
def two_factor_remove(request: HttpRequest) -> HttpResponse:
    """Remove the authenticator and backup codes (password first).

    For an account that must use two-factor authentication this is a reset:
    the gate sends it straight back to set up a new authenticator.
    """
    user = request.user
    form = PasswordConfirmForm(request.POST, request=request, user=user, prefix="remove")
    if not form.is_valid():
        return _manage_with_errors(request, remove_form=form)
    two_factor.remove(user)
    request.session.pop(DEVICE_ID_SESSION_KEY, None)
    request.session[two_factor.STATE_SESSION_KEY] = two_factor.NOT_ENROLLED
    audit.record(request, AuditEvent.Action.DELETE, object_type="TOTPDevice")
    if two_factor.required_for(user):
        messages.info(request, "Your authenticator was removed. Set up the new one now.")
        return redirect("two-factor-setup")
    messages.success(request, "Two-factor authentication is off for your account.")
    return redirect("two-factor-manage")


def _manage_with_errors(request: HttpRequest, **forms) -> HttpResponse:
    user = request.user
    context = {
        "enrolled": two_factor.has_authenticator(user),
        "required": two_factor.required_for(user),
        "codes_left": two_factor.backup_codes_left(user),
        "codes_form": PasswordConfirmForm(request=request, user=user, prefix="codes"),
        "remove_form": PasswordConfirmForm(request=request, user=user, prefix="remove"),
        **forms,
    }
    return render(request, "account/two_factor_manage.html", context, status=400)


@clinic_admin_required
@require_POST
def staff_two_factor_reset(request: HttpRequest, public_id: str) -> HttpResponse:
    """A clinic admin removes a staff member's lost authenticator; they set up a new one at next sign-in."""
    member = access.get_or_404(access.staff_for(request.user), public_id)
    if member.pk == request.user.pk:
        raise PermissionDenied("Use your own two-factor page to change your own sign-in.")
    if not two_factor.has_authenticator(member):
        messages.info(request, f"{member.display_name} has no two-factor sign-in set up.")
    else:
        two_factor.remove(member)
        audit.record(request, AuditEvent.Action.DELETE, member, object_type="TOTPDevice")
        messages.success(
            request,
            f"{member.display_name}'s two-factor sign-in was reset: they set up a new authenticator "
            "the next time they sign in.",
        )
    return redirect("clinic-staff")


# --- Lockout ---------------------------------------------------------------------------------------------


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The page django-axes shows instead of signing in while an account is locked (AXES_LOCKOUT_CALLABLE).

    429 Too Many Requests: it is a rate limit on guessing, not a question of
    permission (403). It says the same for existing and unknown usernames.
    """
    cool_off = get_cool_off(request) or timedelta(0)
    return render(
        request,
        "registration/locked_out.html",
        {
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cooloff_minutes": int(cool_off.total_seconds() // 60),
        },
        status=429,
    )


# --- The session clock -----------------------------------------------------------------------------------


@never_cache
@two_factor_exempt
@require_POST
def session_ping(request: HttpRequest) -> JsonResponse:
    """Keeps the session alive: saves it now, so its idle limit starts again."""
    touch(request)
    return JsonResponse({"idle_seconds": settings.SESSION_COOKIE_AGE})


@login_not_required
@never_cache
@require_GET
def session_timeout(request: HttpRequest) -> HttpResponse:
    """Where an idle page goes when its time is up: the sign-in page, saying why.

    If the session is in fact still alive (another tab kept it going), back to the page.
    """
    if request.user.is_authenticated:
        return HttpResponseRedirect(_next_url(request))
    seconds = settings.SESSION_COOKIE_AGE
    idle = f"{seconds // 60} minutes" if seconds >= 120 else f"{seconds} seconds"
    messages.info(request, f"You were signed out after {idle} without activity, to protect patient records.")
    return login_redirect(_next_url(request))


urlpatterns = [
    path("account/two-factor/", two_factor_manage, name="two-factor-manage"),
    path("account/two-factor/setup/", two_factor_setup, name="two-factor-setup"),
    path("account/two-factor/verify/", two_factor_verify, name="two-factor-verify"),
    path("account/two-factor/backup-codes/", two_factor_backup_codes, name="two-factor-backup-codes"),
    path("account/two-factor/backup-codes/new/", two_factor_new_codes, name="two-factor-new-codes"),
    path("account/two-factor/remove/", two_factor_remove, name="two-factor-remove"),
    path(
        "clinic/staff/<uuid:public_id>/two-factor/reset/",
        staff_two_factor_reset,
        name="clinic-staff-two-factor-reset",
    ),
    path("session/ping/", session_ping, name="session-ping"),
    path("session/timeout/", session_timeout, name="session-timeout"),
]


class AuditedPasswordChangeView(PasswordChangeView):
    """Django's password change, with the change written to the audit trail."""

    def form_valid(self, form):
        response = super().form_valid(form)
        audit.record(self.request, AuditEvent.Action.UPDATE, self.request.user, object_type="Password")
        return response
