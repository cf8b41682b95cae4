"""Every demo role signs in, lands on its own home page and signs out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sessions_app.management.commands.seed_demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.browser


def sign_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize(
    ("username", "home_path", "heading", "role_label"),
    [
        ("demo-therapist", "/therapist/", "My patients", "Therapist"),
        ("demo-admin", "/clinic/", "caseload", "Clinic admin"),
        ("demo-patient", "/portal/", "My therapy", "Patient"),
    ],
)
def test_each_role_signs_in_to_its_home_and_out(
    page, live_server, demo_clinic, artifacts, username, home_path, heading, role_label
):
    sign_in(page, live_server.url, username, DEMO_PASSWORD)

    expect(page).to_have_url(f"{live_server.url}{home_path}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(role_label)
    if username == "demo-patient":
        expect(page.get_by_test_id("portal-position")).to_contain_text("Session 7 of 12")
    elif username == "demo-admin":
        # The caseload dashboard: one row per therapist of the demo clinic.
        expect(page.get_by_test_id("therapist-row").first).to_be_visible()
    else:
        expect(page.get_by_test_id("patient-list").locator("tbody tr").first).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=artifacts / f"home-{username}.png", full_page=True)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto(f"{live_server.url}{home_path}")
    expect(page).to_have_url(re.compile(r"/login/\?next="))


def test_wrong_password_shows_the_form_again_with_an_error(page, live_server, demo_clinic):
    sign_in(page, live_server.url, "demo-therapist", "not-the-password")

    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username and password")
    expect(page.get_by_label("Username")).to_have_value("demo-therapist")
    expect(page.get_by_label("Password")).to_have_value("")
    assert_accessible(page)
