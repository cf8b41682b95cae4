"""The audit trail in a browser: the therapist's change history, the admin's audit log, the
patient's "Who has viewed my record".

Helen (demo therapist) opens Nadia's course and its change history; Priya
(demo clinic admin) finds that access in the audit log by Nadia's name,
tries a bad date, and downloads the CSV; Nadia sees on her portal that Helen
and Priya opened her record. Every page passes axe-core; screenshots go to
test-artifacts/.
"""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from sessions_app.management.commands.seed_demo import DEMO_PASSWORD
from sessions_app.models import Course
from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.browser


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()


def test_history_audit_log_and_the_patients_access_history(page, live_server, demo_clinic, artifacts):
    base = live_server.url
    course = Course.objects.select_related("patient").get(
        patient__given_name="Nadia", status=Course.Status.ACTIVE
    )

    # --- Helen opens Nadia's course and its change history ---
    sign_in(page, base, "demo-therapist")
    page.goto(f"{base}{course.get_absolute_url()}")
    page.get_by_role("link", name="Change history of this course").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change history")
    expect(page.get_by_test_id("history-entry").first).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=artifacts / "course-history.png", full_page=True)
    sign_out(page)

    # --- Priya finds it in the audit log ---
    sign_in(page, base, "demo-admin")
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("audit log")
    assert_accessible(page)
    page.get_by_label("Patient").fill("Nadia Haddad")
    page.get_by_label("What").select_option(label="View")
    page.get_by_role("button", name="Apply").click()
    rows = page.get_by_test_id("audit-row")
    expect(rows.first).to_contain_text("demo-therapist")
    expect(rows.first).to_contain_text("Nadia Haddad")
    expect(page.get_by_label("Patient")).to_have_value("Nadia Haddad")  # what was typed stays
    page.screenshot(path=artifacts / "audit-log.png", full_page=True)

    with page.expect_download() as download_info:
        page.get_by_test_id("audit-export").click()
    body = download_info.value.path().read_text()
    lines = list(csv.reader(io.StringIO(body)))
    assert lines[0][:4] == ["When", "Username", "Role", "Action"]
    assert any(line[1] == "demo-therapist" and line[7] == "Nadia Haddad" for line in lines[1:])

    page.goto(f"{base}/clinic/audit/?date_from=31-02-2026")
    expect(page.get_by_test_id("filter-notice")).to_contain_text("is not a date")
    assert_accessible(page)
    sign_out(page)

    # --- Nadia sees who opened her record ---
    sign_in(page, base, "demo-patient")
    page.get_by_role("link", name="Who has viewed my record").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Who has viewed my record")
    log = page.get_by_test_id("access-log")
    expect(log).to_contain_text("Helen Okafor")
    expect(log).to_contain_text("Priya Raman")
    expect(log).to_contain_text("Opened your record")
    expect(log).not_to_contain_text("Arthur")
    assert_accessible(page)
    page.screenshot(path=artifacts / "portal-access-log.png", full_page=True)
