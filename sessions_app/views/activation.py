"""The one-time activation link: its owner sets their own password. Public pages.

The flow follows Django's PasswordResetConfirmView: the token in the link is
checked, moved into the session, and the browser is sent to a URL without
it, so the token cannot leak in a Referer header. Accounts are addressed by
their public id (primary keys never appear in URLs).

Every unusable link (wrong, used, replaced by a newer one, for an activated,
deactivated or missing account) gets the same page; an expired one says it
expired, which only the holder of a genuinely signed link can learn. Nothing
about the account changes on any of these.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from sessions_app import access, audit, throttle
from sessions_app.forms.accounts import ActivationPasswordForm
from sessions_app.models import AuditEvent, User
from sessions_app.tokens import LinkState, activation_token

SESSION_TOKEN_KEY = "_activation_token"  # noqa: S105 -- a session key, not a secret
SET_PASSWORD = "set-password"  # noqa: S105 -- the URL segment that replaces the token
THROTTLE_SCOPE = "activation"


def _pending_account(public_id: str) -> User | None:
    """The account waiting for activation, or None (missing, superuser, deactivated or activated).

    The token has not been checked yet, so the account is only a candidate:
    nothing is shown or changed until it is.
    """
    try:
        user = (
            User.objects.filter(public_id=public_id, is_active=True, is_superuser=False)
            .exclude(role="")
            .first()
        )
    except ValidationError:
        # A truncated or mangled link: the same answer as any other bad link.
        return None
    if user is None or user.has_usable_password():
        return None
    return user


def _unusable(request: HttpRequest, state: LinkState) -> HttpResponse:
    throttle.note_failure(THROTTLE_SCOPE, request)
    audit.record(request, AuditEvent.Action.DENIED, object_type="ActivationLink", username="")
    # 410 Gone: this link will never work again; the page says what to do instead.
    context = {"expired": state is LinkState.EXPIRED}
    return render(request, "registration/activation_invalid.html", context, status=410)


@login_not_required
@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
def activate(request: HttpRequest, public_id: str, token: str) -> HttpResponse:
    """Check the link, then let its owner choose a password (once)."""
    if throttle.is_blocked(THROTTLE_SCOPE, request):
        return render(request, "registration/activation_throttled.html", status=429)
    user = _pending_account(public_id)

    if token != SET_PASSWORD:
        state = activation_token.state(user, token)
        if state is not LinkState.VALID:
            return _unusable(request, state)
        request.session[SESSION_TOKEN_KEY] = token
        return redirect(reverse("account-activate", kwargs={"public_id": public_id, "token": SET_PASSWORD}))

    state = activation_token.state(user, request.session.get(SESSION_TOKEN_KEY))
    if state is not LinkState.VALID:
        return _unusable(request, state)
    form = ActivationPasswordForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        # Setting the password changes the hash the token is keyed on: the link is now spent.
        form.save()
        del request.session[SESSION_TOKEN_KEY]
        # The owner is now who they say they are: their own scope names their patient record.
        patient = access.patients_for(user).first() if user.is_patient else None
        audit.record(request, AuditEvent.Action.UPDATE, user, user=user, object_type="User", patient=patient)
        return redirect("account-activate-done")
    return render(request, "registration/activation_form.html", {"form": form, "account": user})


@login_not_required
@never_cache
@require_GET
def activate_done(request: HttpRequest) -> HttpResponse:
    return render(request, "registration/activation_done.html")


urlpatterns = [
    # <str:...>, not <uuid:...>: a mangled link gets the "not valid" page, not a bare 404.
    path("activate/<str:public_id>/<str:token>/", activate, name="account-activate"),
    path("activate/done/", activate_done, name="account-activate-done"),
]
