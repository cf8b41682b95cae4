"""Two-factor authentication (TOTP) rules, on top of django-otp's device models.

* Therapists, clinic admins and superusers must use it when
  `settings.IPT_REQUIRE_2FA` is on (the default unless DEBUG); patients may.
* Anyone with an authenticator must verify a code after the password, every
  sign-in: `TwoFactorMiddleware` keeps them from every other page until then.
* An authenticator comes with ten one-time backup codes, shown once.

Whether the account has an authenticator is written into the session at
sign-in (and updated by the enrolment and reset pages), so that the gate in
the middleware costs no query on ordinary requests.
"""

from __future__ import annotations

import re
from base64 import b32encode
from binascii import unhexlify
from dataclasses import dataclass

import qrcode
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex
from qrcode.constants import ERROR_CORRECT_M

from sessions_app.models import User

# Session keys: the account's enrolment state at sign-in, the key being enrolled,
# and the backup codes waiting to be shown (once).
STATE_SESSION_KEY = "ipt_2fa_state"
ENROLLED = "enrolled"
NOT_ENROLLED = "not_enrolled"
SETUP_KEY_SESSION_KEY = "ipt_2fa_setup_key"
NEW_CODES_SESSION_KEY = "ipt_2fa_new_backup_codes"

BACKUP_CODE_COUNT = 10
DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"
TOTP_DIGITS = 6
TOTP_STEP = 30
# Accept the previous and next 30-second code as well: phones' clocks drift.
TOTP_TOLERANCE = 1
QR_BORDER = 4  # modules of light margin the QR specification asks for

_SIX_DIGITS = re.compile(r"^\d{6}$")


def required_for(user: User) -> bool:
    """Must this account use two-factor authentication (under the current settings)?"""
    if not getattr(settings, "IPT_REQUIRE_2FA", False) or not user.is_authenticated:
        return False
    return user.is_therapist or user.is_clinic_admin or user.is_superuser


def has_authenticator(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def remember_state(session: SessionBase, user: User) -> None:
    """Store whether the account has an authenticator; read by the middleware on each request."""
    session[STATE_SESSION_KEY] = ENROLLED if has_authenticator(user) else NOT_ENROLLED


def normalise_code(code: str) -> str:
    """Codes are typed with spaces or dashes and in either case; compare without them."""
    return re.sub(r"[\s-]", "", code or "").lower()


# --- Enrolment -----------------------------------------------------------------------------------------


def new_secret() -> str:
    """A fresh 20-byte TOTP secret, hex-encoded as django-otp stores it."""
    return random_hex(20)


def manual_key(secret_hex: str) -> str:
    """The secret as an authenticator app asks for it: base32, in groups of four."""
    encoded = b32encode(unhexlify(secret_hex)).decode("ascii").rstrip("=")
    return " ".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def provisioning_uri(user: User, secret_hex: str) -> str:
    """The otpauth:// URI the QR code carries (issuer, account name, secret)."""
    device = TOTPDevice(user=user, key=secret_hex, digits=TOTP_DIGITS, step=TOTP_STEP)
    return device.config_url


@dataclass(frozen=True)
class QrSvg:
    """A QR code as one SVG path of unit squares, for a template to draw (no markup from Python)."""

    size: int  # modules per side, margin included
    path: str


def qr_svg(data: str) -> QrSvg:
    """The QR code of `data`, drawn as an SVG path: no image file, no external request."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QR_BORDER)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()  # includes the border
    squares = [
        f"M{x},{y}h1v1h-1z" for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark
    ]
    return QrSvg(size=len(matrix), path="".join(squares))


def _matched_step(secret_hex: str, code: str) -> int | None:
    """The time step at which `code` is right for the secret (now, or one step either side), else None."""
    code = normalise_code(code)
    if not _SIX_DIGITS.match(code):
        return None
    totp = TOTP(unhexlify(secret_hex), step=TOTP_STEP, digits=TOTP_DIGITS)
    if not totp.verify(int(code), tolerance=TOTP_TOLERANCE):
        return None
    return totp.t()  # verify() left the drift at the matching step


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    backup_codes: list[str]


@transaction.atomic
def enrol(user: User, secret_hex: str, code: str) -> Enrolment | None:
    """Make this secret the account's authenticator if `code` proves the app has it.

    Returns the new device and backup codes, or None (changing nothing) when the code is wrong.
    """
    step = _matched_step(secret_hex, code)
    if step is None:
        return None
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(
        user=user,
        name=DEVICE_NAME,
        key=secret_hex,
        digits=TOTP_DIGITS,
        step=TOTP_STEP,
        tolerance=TOTP_TOLERANCE,
        confirmed=True,
        # The code just used to confirm must not sign anyone in a second time.
        last_t=step,
    )
    return Enrolment(device, new_backup_codes(user))


@transaction.atomic
def new_backup_codes(user: User) -> list[str]:
    """Throw away the account's backup codes and make a new set; each works once."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def backup_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def remove(user: User) -> None:
    """Delete the account's authenticator and backup codes."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


# --- Verification --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    device: TOTPDevice | StaticDevice | None
    throttled: bool = False

    @property
    def ok(self) -> bool:
        return self.device is not None


def verify(user: User, code: str) -> Verification:
    """Check a code from the authenticator (six digits) or a backup code against the account.

    Each kind is checked only against its own device, so a mistyped backup
    code does not count as a wrong authenticator code. django-otp's
    throttling applies: after failures each further try must wait longer
    (1 s, 2 s, 4 s, ...), and a try during the wait fails even if right.
    """
    code = normalise_code(code)
    model = TOTPDevice if _SIX_DIGITS.match(code) else StaticDevice
    with transaction.atomic():
        # select_for_update: two requests cannot both use the same code.
        for device in model.objects.select_for_update().filter(user=user, confirmed=True):
            allowed, _ = device.verify_is_allowed()
            if not allowed:
                return Verification(None, throttled=True)
            if device.verify_token(code):
                return Verification(device)
    return Verification(None)


def mark_verified(request, device: TOTPDevice | StaticDevice) -> None:
    """This session passed the second factor: remember the device, and give it a new session id."""
    request.session.cycle_key()
    otp_login(request, device)
    request.session[STATE_SESSION_KEY] = ENROLLED
