"""Two-factor authentication (TOTP via django-otp) with real codes computed from the device key.

Test settings leave it optional (IPT_REQUIRE_2FA=false) so other tests can
`force_login`; the tests here that need it required turn it on with the
`settings` fixture, as production has it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from base64 import b32decode
from binascii import unhexlify
from pathlib import Path

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from sessions_app import two_factor
from sessions_app.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
SETUP = reverse("two-factor-setup")
VERIFY = reverse("two-factor-verify")
CODES = reverse("two-factor-backup-codes")
MANAGE = reverse("two-factor-manage")


def code_for(secret_hex: str, offset: int = 0) -> str:
    """The code an authenticator app shows now (offset in 30-second steps)."""
    return f"{totp(unhexlify(secret_hex), step=30, digits=6, drift=offset):06d}"


def enrol(client: Client) -> tuple[str, list[str]]:
    """Go through the set-up page as a person would; return the secret and the backup codes shown."""
    client.get(SETUP)
    secret = client.session[two_factor.SETUP_KEY_SESSION_KEY]
    response = client.post(SETUP, {"code": code_for(secret)})
    assert response.status_code == 302, response.content.decode()[:2000]
    shown = client.get(response.url).content.decode()
    return secret, re.findall(r"<li>([a-z2-7]{8})</li>", shown)


def sign_in(client: Client, user, *, next_url: str = "") -> str:
    """Password sign-in through the login form; returns where it redirects."""
    data = {"username": user.username, "password": factories.PASSWORD}
    if next_url:
        data["next"] = next_url
    response = client.post(reverse("login"), data)
    assert response.status_code == 302
    return response.url


@pytest.fixture
def enrolled_therapist(therapist) -> tuple[object, str, list[str]]:
    """`therapist` with an authenticator (enrolled in a session of its own, then signed out)."""
    client = Client()
    client.force_login(therapist)
    secret, codes = enrol(client)
    return therapist, secret, codes


def _require_2fa_setting(**env: str) -> str:
    """IPT_REQUIRE_2FA as the real settings module reads it from this environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "IPT_"))}
    clean.update(env, DJANGO_SETTINGS_MODULE="ipt_tracker.settings")
    result = subprocess.run(
        [sys.executable, "-c", "from ipt_tracker import settings; print(settings.IPT_REQUIRE_2FA)"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_production_requires_two_factor_and_the_demo_leaves_it_optional():
    assert _require_2fa_setting(DJANGO_SECRET_KEY="x" * 50) == "True"
    assert _require_2fa_setting(DJANGO_DEBUG="true") == "False"  # make run
    assert _require_2fa_setting(DJANGO_DEBUG="true", IPT_REQUIRE_2FA="true") == "True"


# --- Enrolment -------------------------------------------------------------------------------------------


def test_setup_page_shows_an_inline_qr_code_and_the_key_to_type(client, therapist):
    client.force_login(therapist)

    page = client.get(SETUP).content.decode()

    secret = client.session[two_factor.SETUP_KEY_SESSION_KEY]
    assert re.search(r'<svg class="qr-code"[^>]*role="img"', page)
    assert re.search(r'<path d="(M\d+,\d+h1v1h-1z)+"', page)
    assert "<img" not in page and "data:image" not in page
    typed = re.search(r'data-testid="manual-key">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert b32decode(typed + "=" * (-len(typed) % 8)) == unhexlify(secret)


def test_qr_code_carries_the_otpauth_uri_for_this_account(therapist):
    secret = two_factor.new_secret()

    uri = two_factor.provisioning_uri(therapist, secret)

    assert uri.startswith("otpauth://totp/IPT%20Tracker%3Atherapist?")
    assert "issuer=IPT%20Tracker" in uri
    assert f"secret={two_factor.manual_key(secret).replace(' ', '')}" in uri
    qr = two_factor.qr_svg(uri)
    assert qr.size >= 21 + 2 * two_factor.QR_BORDER and qr.path.startswith("M")


def test_enrolment_needs_a_right_code_then_shows_backup_codes_once(client, therapist):
    client.force_login(therapist)
    client.get(SETUP)
    secret = client.session[two_factor.SETUP_KEY_SESSION_KEY]

    wrong = client.post(SETUP, {"code": "000000" if code_for(secret) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert "That code does not match" in wrong.content.decode()
    assert not TOTPDevice.objects.exists()

    done = client.post(SETUP, {"code": code_for(secret)})
    assert done.status_code == 302 and done.url.startswith(CODES)
    device = TOTPDevice.objects.get(user=therapist)
    assert device.confirmed and device.key == secret

    first = client.get(done.url).content.decode()
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", first)
    assert len(codes) == 10
    stored = StaticToken.objects.filter(device__user=therapist).values_list("token", flat=True)
    assert sorted(codes) == sorted(stored)
    again = client.get(CODES).content.decode()
    assert not any(code in again for code in codes)
    assert "shown only once" in again
    assert AuditEvent.objects.filter(
        user=therapist, action=AuditEvent.Action.CREATE, object_type="TOTPDevice"
    ).exists()


def test_the_code_used_to_enrol_cannot_sign_in_again(client, therapist):
    client.force_login(therapist)
    client.get(SETUP)
    secret = client.session[two_factor.SETUP_KEY_SESSION_KEY]
    code = code_for(secret)
    client.post(SETUP, {"code": code})

    other = Client()
    sign_in(other, therapist)
    response = other.post(VERIFY, {"code": code})

    assert response.status_code == 200
    assert "not right" in response.content.decode()


# --- The second step at sign-in ----------------------------------------------------------------------------


def test_an_enrolled_account_reaches_nothing_before_the_code(client, enrolled_therapist, patient):
    therapist, secret, _ = enrolled_therapist
    patient_url = patient.get_absolute_url()

    landing = sign_in(client, therapist, next_url=patient_url)
    assert landing == patient_url
    gated = client.get(patient_url)
    assert gated.status_code == 302
    assert gated.url == f"{VERIFY}?next={patient_url.replace('/', '%2F')}"
    assert client.get(reverse("therapist-home")).status_code == 302

    wrong = client.post(VERIFY, {"code": "12345x", "next": patient_url})
    assert wrong.status_code == 200
    assert client.get(patient_url).status_code == 302

    right = client.post(VERIFY, {"code": code_for(secret, offset=1), "next": patient_url})
    assert right.status_code == 302 and right.url == patient_url
    assert client.get(patient_url).status_code == 200


def test_verifying_gives_the_session_a_new_id(client, enrolled_therapist):
    therapist, secret, _ = enrolled_therapist
    sign_in(client, therapist)
    before = client.session.session_key

    client.post(VERIFY, {"code": code_for(secret, offset=1)})

    assert client.session.session_key != before
    assert client.session[SESSION_KEY] == str(therapist.pk)


def test_sign_in_and_verification_are_audited(client, enrolled_therapist):
    therapist, secret, _ = enrolled_therapist
    sign_in(client, therapist)
    client.post(VERIFY, {"code": "999999" if code_for(secret) != "999999" else "888888"})
    # The failure made the next try wait a second; skip the wait rather than sleep.
    TOTPDevice.objects.filter(user=therapist).update(throttling_failure_count=0)
    client.post(VERIFY, {"code": code_for(secret, offset=1)})

    rows = list(
        AuditEvent.objects.filter(user=therapist, path=VERIFY)
        .order_by("id")
        .values_list("action", "object_type")
    )
    assert rows == [(AuditEvent.Action.LOGIN_FAILED, "OTP"), (AuditEvent.Action.LOGIN, "TOTPDevice")]


def test_a_backup_code_works_once(enrolled_therapist):
    therapist, _, codes = enrolled_therapist
    first, second = Client(), Client()

    sign_in(first, therapist)
    assert first.post(VERIFY, {"code": codes[0].upper()}).status_code == 302
    assert first.get(reverse("therapist-home")).status_code == 200

    sign_in(second, therapist)
    assert second.post(VERIFY, {"code": codes[0]}).status_code == 200
    assert second.get(reverse("therapist-home")).status_code == 302
    assert StaticToken.objects.filter(device__user=therapist).count() == 9


def test_a_wrong_code_counts_as_a_failure(client, enrolled_therapist):
    therapist, secret, _ = enrolled_therapist
    sign_in(client, therapist)
    wrong = "000000" if code_for(secret) != "000000" else "111111"

    client.post(VERIFY, {"code": wrong})

    device = TOTPDevice.objects.get(user=therapist)
    assert device.throttling_failure_count == 1


def test_after_failures_even_the_right_code_must_wait(client, enrolled_therapist):
    therapist, secret, _ = enrolled_therapist
    sign_in(client, therapist)
    # Three failures just now (django-otp's own throttle state, set directly so the
    # test does not depend on how fast this machine posts): the next try waits 4 s.
    TOTPDevice.objects.filter(user=therapist).update(
        throttling_failure_count=3, throttling_failure_timestamp=timezone.now()
    )

    response = client.post(VERIFY, {"code": code_for(secret)})

    assert response.status_code == 200
    assert "Too many wrong codes" in response.content.decode()
    assert client.get(reverse("therapist-home")).status_code == 302


def test_verify_does_not_redirect_off_site(client, enrolled_therapist):
    therapist, secret, _ = enrolled_therapist
    sign_in(client, therapist)

    response = client.post(VERIFY, {"code": code_for(secret, offset=1), "next": "https://evil.example/"})

    assert response.url == reverse("home")


def test_sign_out_works_before_the_code(client, enrolled_therapist):
    therapist, _, _ = enrolled_therapist
    sign_in(client, therapist)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert SESSION_KEY not in client.session


def test_a_password_alone_cannot_replace_the_authenticator(client, enrolled_therapist):
    therapist, secret, _ = enrolled_therapist
    sign_in(client, therapist)

    response = client.get(SETUP)

    assert response.status_code == 302 and response.url.startswith(VERIFY)
    assert TOTPDevice.objects.get(user=therapist).key == secret


# --- Required for staff ------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["therapist", "clinic_admin"])
def test_when_required_unenrolled_staff_are_sent_to_set_up(client, settings, request, persona, patient):
    settings.IPT_REQUIRE_2FA = True
    user = request.getfixturevalue(persona)
    sign_in(client, user)

    for url in (reverse("home"), patient.get_absolute_url(), reverse("password_change")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(f"{SETUP}?next=")

    enrol(client)
    assert client.get(patient.get_absolute_url()).status_code == 200


def test_when_required_superusers_need_it_for_django_admin(client, settings):
    settings.IPT_REQUIRE_2FA = True
    superuser = factories.UserFactory(username="root", role="", clinic=None, is_superuser=True, is_staff=True)
    client.force_login(superuser)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302 and response.url.startswith(SETUP)


def test_when_not_required_staff_without_an_authenticator_go_straight_in(client, therapist, patient):
    assert not two_factor.required_for(therapist)
    sign_in(client, therapist)

    assert client.get(patient.get_absolute_url()).status_code == 200


def test_patients_may_turn_it_on_and_then_must_verify(settings, patient_user):
    settings.IPT_REQUIRE_2FA = True
    first = Client()
    sign_in(first, patient_user)
    assert first.get(reverse("portal-home")).status_code == 200  # not required for patients
    secret, _ = enrol(first)

    second = Client()
    sign_in(second, patient_user)
    assert second.get(reverse("portal-home")).status_code == 302
    second.post(VERIFY, {"code": code_for(secret, offset=1)})
    assert second.get(reverse("portal-home")).status_code == 200


# --- Managing it -------------------------------------------------------------------------------------------


def _verified(client: Client, user, secret: str) -> None:
    sign_in(client, user)
    assert client.post(VERIFY, {"code": code_for(secret, offset=1)}).status_code == 302


def test_turning_it_off_needs_the_password(client, enrolled_therapist):
    therapist, secret, _ = enrolled_therapist
    _verified(client, therapist, secret)

    refused = client.post(reverse("two-factor-remove"), {"remove-password": "not-my-password"})
    assert refused.status_code == 400
    assert "not your password" in refused.content.decode()
    assert TOTPDevice.objects.filter(user=therapist).exists()

    done = client.post(reverse("two-factor-remove"), {"remove-password": factories.PASSWORD})
    assert done.status_code == 302 and done.url == MANAGE
    assert not TOTPDevice.objects.filter(user=therapist).exists()
    assert not StaticToken.objects.filter(device__user=therapist).exists()
    assert client.get(reverse("therapist-home")).status_code == 200


def test_when_required_removing_it_is_a_reset_straight_to_set_up(client, settings, enrolled_therapist):
    settings.IPT_REQUIRE_2FA = True
    therapist, secret, _ = enrolled_therapist
    _verified(client, therapist, secret)

    response = client.post(reverse("two-factor-remove"), {"remove-password": factories.PASSWORD})

    assert response.url == SETUP
    assert client.get(reverse("therapist-home")).url.startswith(SETUP)


def test_new_backup_codes_replace_the_old_ones(client, enrolled_therapist):
    therapist, secret, old_codes = enrolled_therapist
    _verified(client, therapist, secret)

    response = client.post(reverse("two-factor-new-codes"), {"codes-password": factories.PASSWORD})
    new_codes = re.findall(r"<li>([a-z2-7]{8})</li>", client.get(response.url).content.decode())

    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    stored = set(StaticToken.objects.filter(device__user=therapist).values_list("token", flat=True))
    assert stored == set(new_codes)


def test_the_manage_page_says_whether_it_is_on(client, enrolled_therapist, other_therapist):
    therapist, secret, _ = enrolled_therapist
    _verified(client, therapist, secret)
    assert "On." in client.get(MANAGE).content.decode()

    other = Client()
    other.force_login(other_therapist)
    assert "Off." in other.get(MANAGE).content.decode()


# --- Resetting someone else's -------------------------------------------------------------------------------


def test_a_clinic_admin_resets_a_staff_members_lost_authenticator(client, clinic_admin, enrolled_therapist):
    therapist, _, _ = enrolled_therapist
    client.force_login(clinic_admin)
    assert "Reset two-factor" in client.get(reverse("clinic-staff")).content.decode()

    response = client.post(reverse("clinic-staff-two-factor-reset", args=[therapist.public_id]))

    assert response.url == reverse("clinic-staff")
    assert not TOTPDevice.objects.filter(user=therapist).exists()
    assert not StaticToken.objects.filter(device__user=therapist).exists()
    row = AuditEvent.objects.get(action=AuditEvent.Action.DELETE, object_type="TOTPDevice")
    assert (row.user, row.object_id) == (clinic_admin, str(therapist.public_id))


def test_only_the_own_clinics_admin_resets_and_not_their_own(
    client, enrolled_therapist, other_clinic_admin, other_therapist, clinic_admin
):
    therapist, _, _ = enrolled_therapist
    url = reverse("clinic-staff-two-factor-reset", args=[therapist.public_id])

    client.force_login(other_clinic_admin)
    assert client.post(url).status_code == 404
    client.force_login(other_therapist)
    assert client.post(url).status_code == 403
    client.force_login(clinic_admin)
    own = reverse("clinic-staff-two-factor-reset", args=[clinic_admin.public_id])
    assert client.post(own).status_code == 403
    assert TOTPDevice.objects.filter(user=therapist).exists()


def test_the_reset_command_removes_the_authenticator(enrolled_therapist):
    therapist, _, _ = enrolled_therapist

    call_command("reset_two_factor", "therapist", verbosity=0)

    assert not TOTPDevice.objects.filter(user=therapist).exists()
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.DELETE, path="manage.py reset_two_factor", object_id=str(therapist.public_id)
    ).exists()
