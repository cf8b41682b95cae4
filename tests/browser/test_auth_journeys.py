"""Sign-in protections as a person meets them: the idle warning, two-factor
enrolment and sign-in, the lockout page, and emergency access."""

from __future__ import annotations

import re
from base64 import b32decode

import pytest
from django_otp.oath import totp
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.browser


@pytest.fixture
def people(transactional_db) -> dict[str, object]:
    clinic = factories.ClinicFactory(name="Riverside IPT Clinic")
    therapist = factories.TherapistFactory(clinic=clinic, username="rosa", first_name="Rosa", last_name="Ek")
    colleague = factories.TherapistFactory(clinic=clinic, username="sam", first_name="Sam", last_name="Okoro")
    patient = factories.PatientFactory(
        clinic=clinic, therapist=colleague, given_name="Grace", family_name="Hopper"
    )
    return {"therapist": therapist, "colleague": colleague, "patient": patient}


def sign_in(page: Page, base: str, username: str, password: str = factories.PASSWORD) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def code_from_key(typed_key: str, offset: int = 0) -> str:
    """What an authenticator app shows for the key the page told the person to type."""
    key = typed_key.replace(" ", "")
    return f"{totp(b32decode(key + '=' * (-len(key) % 8)), step=30, digits=6, drift=offset):06d}"


def test_the_page_warns_before_the_idle_limit_and_then_returns_to_sign_in(
    page: Page, live_server, people, settings, artifacts
):
    # A short idle limit for the test; production has 15 minutes and a 2-minute warning.
    settings.SESSION_COOKIE_AGE = 8
    settings.IPT_SESSION_WARNING_SECONDS = 5
    base = live_server.url
    sign_in(page, base, "rosa")
    expect(page).to_have_url(f"{base}/therapist/")

    warning = page.get_by_role("alert").filter(has_text="You will be signed out")
    expect(warning).to_be_visible(timeout=8_000)
    assert_accessible(page)
    page.screenshot(path=artifacts / "idle-warning.png")

    with page.expect_response(lambda r: r.url.endswith("/session/ping/")) as ping:
        warning.get_by_role("button", name="Stay signed in").click()
    assert ping.value.status == 200
    expect(warning).to_have_count(0)

    # Left alone again: warned again, then signed out and shown the sign-in page.
    expect(warning).to_be_visible(timeout=8_000)
    expect(page).to_have_url(re.compile(r"/login/\?next=%2Ftherapist%2F$"), timeout=15_000)
    expect(page.get_by_text("You were signed out after 8 seconds without activity")).to_be_visible()
    assert_accessible(page)

    page.goto(f"{base}/therapist/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))


def test_two_factor_enrolment_then_every_sign_in_asks_for_a_code(
    page: Page, live_server, people, settings, artifacts
):
    settings.IPT_REQUIRE_2FA = True
    base = live_server.url

    sign_in(page, base, "rosa")
    expect(page).to_have_url(re.compile(r"/account/two-factor/setup/\?next="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor authentication")
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=artifacts / "two-factor-setup.png", full_page=True)
    typed_key = page.get_by_test_id("manual-key").inner_text()

    wrong = "000000" if code_from_key(typed_key) != "000000" else "111111"
    page.get_by_label("Code from your app").fill(wrong)
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.get_by_text("That code does not match")).to_be_visible()
    page.get_by_label("Code from your app").fill(code_from_key(typed_key))
    page.get_by_role("button", name="Confirm and turn on").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your backup codes")
    expect(page.get_by_test_id("backup-codes").locator("li")).to_have_count(10)
    assert_accessible(page)
    page.get_by_role("link", name="I have kept them: continue").click()
    expect(page).to_have_url(f"{base}/therapist/")

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, base, "rosa")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    assert_accessible(page)
    page.get_by_label("Code").fill(code_from_key(typed_key, offset=1))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{base}/therapist/")


def test_five_wrong_passwords_show_the_paused_page(page: Page, live_server, people):
    for _ in range(5):
        sign_in(page, live_server.url, "rosa", "not-the-password")

    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in paused")
    expect(page.get_by_role("alert")).to_contain_text("paused for 15 minutes")
    assert_accessible(page)


def test_a_therapist_opens_a_colleagues_patient_in_an_emergency(page: Page, live_server, people, artifacts):
    base = live_server.url
    sign_in(page, base, "rosa")
    page.get_by_role("link", name="Emergency access").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Emergency access to a patient's record")
    assert_accessible(page)

    page.get_by_label("Given name").fill("Grace")
    page.get_by_label("Family name").fill("Hopper")
    page.get_by_label("Date of birth").fill("1985-04-12")
    page.get_by_label("Reason").fill("Crisis call")
    page.get_by_role("button", name=re.compile("Open the record")).click()
    expect(page.get_by_text("Give the reason in at least 20 characters")).to_be_visible()
    expect(page.get_by_label("Family name")).to_have_value("Hopper")  # nothing typed is lost
    assert_accessible(page)

    page.get_by_label("Reason").fill("Crisis call this morning; Sam is on leave and cannot be reached.")
    page.get_by_role("button", name=re.compile("Open the record")).click()
    expect(page).to_have_url(f"{base}{people['patient'].get_absolute_url()}")
    granted = re.compile(r"Emergency access to Grace Hopper until \d\d:\d\d: read-only")
    expect(page.get_by_text(granted)).to_be_visible()
    page.screenshot(path=artifacts / "emergency-access.png", full_page=True)
