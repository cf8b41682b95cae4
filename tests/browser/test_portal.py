"""The demo patient reads their portal on a phone: every page, with and without JavaScript.

Each page is checked for its content, for fitting a 390 px wide screen without
sideways scrolling, and with axe-core (no serious or critical violations).
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sessions_app.management.commands.seed_demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# (nav link, path, heading, a test id the page shows for the demo patient)
PAGES = [
    ("My therapy", "/portal/", "My therapy", "portal-position"),
    ("My goals", "/portal/goals/", "My goals", "portal-goals"),
    ("Between sessions", "/portal/between-sessions/", "Between sessions", "portal-current-task"),
    ("My progress", "/portal/progress/", "My progress", "score-chart"),
]


@pytest.fixture
def phone(browser):
    """A phone-sized browser context factory; JavaScript on or off."""
    contexts = []

    def open_page(*, javascript: bool):
        context = browser.new_context(viewport=PHONE, java_script_enabled=javascript, bypass_csp=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def sign_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill("demo-patient")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}/portal/")


def assert_no_sideways_scroll(page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways on a phone: {widths}"


def test_the_patient_reads_every_portal_page_on_a_phone(phone, live_server, demo_clinic, artifacts):
    page = phone(javascript=True)
    sign_in(page, live_server.url)

    for link, path, heading, test_id in PAGES:
        # Move between pages with the portal's own navigation.
        page.get_by_role("navigation", name="Your therapy").get_by_role("link", name=link).click()
        expect(page).to_have_url(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.get_by_role("link", name=link)).to_have_attribute("aria-current", "page")
        expect(page.get_by_test_id(test_id).first).to_be_visible()
        assert_no_sideways_scroll(page)
        assert_accessible(page)
        page.screenshot(
            path=artifacts / f"portal-phone{path.replace('/', '-').rstrip('-')}.png", full_page=True
        )

    # What the demo patient's pages say (seed_demo: session 7 of 12, shared scores 17 → 8).
    page.goto(f"{live_server.url}/portal/")
    expect(page.get_by_test_id("portal-position")).to_contain_text("Session 7 of 12")
    expect(page.get_by_test_id("portal-position")).to_contain_text("Where you are now: working on it")
    page.goto(f"{live_server.url}/portal/progress/")
    expect(page.get_by_test_id("portal-reading").first).to_contain_text(
        "Your score has come down from 17 to 8 since you started — that is a big change."
    )
    page.goto(f"{live_server.url}/portal/between-sessions/")
    # The latest session is still a draft: its task waits for the signature.
    expect(page.get_by_test_id("portal-write-up-pending")).to_be_visible()


def test_the_portal_works_without_javascript(phone, live_server, demo_clinic, artifacts):
    page = phone(javascript=False)
    sign_in(page, live_server.url)

    for _, path, heading, test_id in PAGES:
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.get_by_test_id(test_id).first).to_be_visible()
        assert_no_sideways_scroll(page)
    page.screenshot(path=artifacts / "portal-phone-no-js-progress.png", full_page=True)

    # Signing out is a plain form post too.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
