"""One-time activation links: Django's password-reset token machinery, with its own salt and lifetime.

A token is an HMAC (keyed on SECRET_KEY) of the account's state plus a
timestamp. The state includes the password hash, so the token stops working
the moment it is used (the password is set) and whenever a new link is issued
(a new link first gives the account a fresh random unusable password).
"""

from __future__ import annotations

import enum

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int

from sessions_app.models import User

# 72 hours: covers a link sent on a Friday and opened on the Monday, while a
# forgotten email does not stay a way into the account for long. It equals
# Django's own default for password-reset links. Overridable in settings.
DEFAULT_ACTIVATION_TIMEOUT = 72 * 60 * 60


class LinkState(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    # Wrong, already used, replaced by a newer link, or for no pending account:
    # one state, so the answer never says which (or whether an account exists).
    INVALID = "invalid"


class ActivationTokenGenerator(PasswordResetTokenGenerator):
    # A salt of its own: a password-reset token is never an activation token, and vice versa.
    key_salt = "sessions_app.tokens.ActivationTokenGenerator"

    @property
    def timeout(self) -> int:
        """Link lifetime in seconds (read at call time, so tests can change the setting)."""
        return getattr(settings, "ACCOUNT_ACTIVATION_TIMEOUT", DEFAULT_ACTIVATION_TIMEOUT)

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        # Django's value (pk, password hash, last login, timestamp, email) plus the
        # active flag: deactivating an account also voids its pending link.
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}"

    def state(self, user: User | None, token: str | None) -> LinkState:
        """Whether `token` activates `user` now, has expired, or is no good at all.

        The same checks as Django's `check_token`, with the activation timeout
        instead of PASSWORD_RESET_TIMEOUT, and "expired" told apart from
        "invalid" (only someone holding a genuinely signed link can learn it expired).
        """
        if user is None or not token:
            return LinkState.INVALID
        try:
            ts_b36, _ = token.split("-")
            timestamp = base36_to_int(ts_b36)
        except ValueError:
            return LinkState.INVALID
        if not any(
            constant_time_compare(self._make_token_with_timestamp(user, timestamp, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        ):
            return LinkState.INVALID
        if self._num_seconds(self._now()) - timestamp > self.timeout:
            return LinkState.EXPIRED
        return LinkState.VALID

    def check_token(self, user: User | None, token: str | None) -> bool:
        return self.state(user, token) is LinkState.VALID


activation_token = ActivationTokenGenerator()
