"""Running the clinic in a browser: staff account, reassignment, portal account, activation.

The demo clinic admin adds a therapist, reassigns a patient with an active
course to another therapist (the course summary shows it), and gives a
patient without portal access an account. The patient opens the activation
link on a phone, chooses a password (a weak one first), signs in and lands on
the portal; the used link then shows its "cannot be used" page. Every page on
the way passes axe-core (no serious or critical violations); screenshots go
to test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sessions_app.management.commands.seed_demo import DEMO_PASSWORD
from sessions_app.models import Course, Patient, User
from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
NEW_PASSWORD = "quiet-harbour-lantern-42"


def sign_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_an_admin_runs_the_clinic_and_a_patient_activates_their_account(
    page, browser, live_server, demo_clinic, artifacts
):
    base = live_server.url
    sign_in(page, base, "demo-admin", DEMO_PASSWORD)
    expect(page).to_have_url(f"{base}/clinic/")

    # --- A new therapist ---
    page.get_by_role("link", name="Staff", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("staff")
    assert_accessible(page)
    page.screenshot(path=artifacts / "clinic-staff.png", full_page=True)
    page.get_by_role("link", name="Add a staff member").click()
    page.get_by_role("button", name="Create account and activation link").click()
    expect(page.get_by_text("This field is required.").first).to_be_visible()
    assert_accessible(page)
    page.get_by_label("First name").fill("Mary")
    page.get_by_label("Last name").fill("Seacole")
    page.get_by_label("Username").fill("mseacole")
    page.get_by_label("Email").fill("mary@riverside-ipt.example")
    page.get_by_label("Therapist").check()
    page.get_by_role("button", name="Create account and activation link").click()
    expect(page).to_have_url(f"{base}/accounts/activation-link/")
    expect(page.get_by_test_id("activation-link")).to_have_value(re.compile(r"/activate/"))
    assert_accessible(page)
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_test_id("staff-mseacole")).to_contain_text("Waiting for activation")

    # --- Reassign a patient with an active course ---
    course = Course.objects.filter(
        status=Course.Status.ACTIVE, patient__therapist__username="demo-therapist"
    ).first()
    patient = course.patient
    page.goto(f"{base}/patients/{patient.public_id}/")
    page.get_by_role("link", name="Reassign to another therapist").click()
    assert_accessible(page)
    page.get_by_role("button", name="Reassign").click()
    expect(page.get_by_text("Say why the patient moves to another therapist.")).to_be_visible()
    page.get_by_label("New therapist").select_option(label="Marcus Lindqvist")
    page.get_by_label("Reason").fill("Helen's caseload is full until spring.")
    page.get_by_role("button", name="Reassign").click()
    expect(page).to_have_url(f"{base}/clinic/courses/{course.public_id}/")
    expect(page.get_by_test_id("reassignments")).to_contain_text("from Helen Okafor to Marcus Lindqvist")
    expect(page.get_by_test_id("summary-therapist")).to_have_text("Marcus Lindqvist")
    assert_accessible(page)
    page.screenshot(path=artifacts / "clinic-course-summary.png", full_page=True)

    # --- Portal access for a patient who has none ---
    newcomer = Patient.objects.filter(portal_user__isnull=True, archived_at__isnull=True).first()
    page.goto(f"{base}/patients/{newcomer.public_id}/")
    page.get_by_role("link", name="Portal access").click()
    assert_accessible(page)
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Email").fill("newcomer@example.test")
    page.get_by_role("button", name="Create portal account and activation link").click()
    link = page.get_by_test_id("activation-link").input_value()
    assert_accessible(page)
    page.screenshot(path=artifacts / "clinic-activation-link.png", full_page=True)
    page.reload()
    expect(page.get_by_text("There is no link to show")).to_be_visible()  # shown once

    # --- The patient activates on a phone ---
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    phone = context.new_page()
    phone.set_default_timeout(10_000)
    phone.goto(link)
    expect(phone).to_have_url(re.compile(r"/activate/[0-9a-f-]+/set-password/$"))
    expect(phone.get_by_test_id("activation-username")).to_have_text("newcomer")
    assert_accessible(phone)
    phone.get_by_label("Choose a password").fill("12345")
    phone.get_by_label("The same password again").fill("12345")
    phone.get_by_role("button", name="Set password").click()
    expect(phone.get_by_text("This password is too short.")).to_be_visible()
    assert_accessible(phone)
    phone.get_by_label("Choose a password").fill(NEW_PASSWORD)
    phone.get_by_label("The same password again").fill(NEW_PASSWORD)
    phone.get_by_role("button", name="Set password").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your password is set")
    assert_accessible(phone)
    phone.get_by_role("link", name="Sign in").click()
    sign_in(phone, base, "newcomer", NEW_PASSWORD)
    expect(phone).to_have_url(f"{base}/portal/")
    phone.screenshot(path=artifacts / "portal-after-activation.png", full_page=True)

    # The link is spent.
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_have_text("This link cannot be used")
    assert_accessible(phone)
    context.close()
    assert User.objects.get(username="newcomer").has_usable_password()
