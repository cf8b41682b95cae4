"""The caseload review in a browser: the demo clinic admin reads the dashboard, drills into the
overdue count, exports that list as CSV and filters with a bad date. Every page passes axe-core
(no serious or critical violations); screenshots go to test-artifacts/.
"""

from __future__ import annotations

import csv
import re

import pytest
from playwright.sync_api import expect

from sessions_app.management.commands.seed_demo import DEMO_PASSWORD
from sessions_app.models import AuditEvent
from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.browser


def sign_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_an_admin_reads_the_caseload_drills_into_overdue_and_exports_it(
    page, live_server, demo_clinic, artifacts
):
    base = live_server.url
    sign_in(page, base, "demo-admin", DEMO_PASSWORD)
    expect(page).to_have_url(f"{base}/clinic/")

    # --- The dashboard ---
    expect(page.get_by_role("heading", level=1)).to_contain_text("caseload")
    expect(page.get_by_test_id("therapist-table")).to_contain_text("Helen Okafor")
    expect(page.get_by_test_id("mean-score-chart")).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=artifacts / "clinic-caseload.png", full_page=True)

    overdue = page.locator('a[data-figure="overdue"]')
    count = int(overdue.get_attribute("data-count"))
    assert count >= 1  # the demo clinic has an overdue patient

    # --- The patients behind the overdue count ---
    overdue.click()
    expect(page.get_by_test_id("figure-title")).to_contain_text("Overdue")
    rows = page.get_by_test_id("course-row")
    expect(rows).to_have_count(count)
    names = [rows.nth(i).locator("th a").inner_text() for i in range(count)]
    assert_accessible(page)
    page.screenshot(path=artifacts / "clinic-overdue-list.png", full_page=True)

    # --- Export that list ---
    with page.expect_download() as download_info:
        page.get_by_test_id("export-csv").click()
    download = download_info.value
    assert re.fullmatch(r"caseload-overdue-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    with open(download.path(), encoding="utf-8", newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert sorted(row["Patient"] for row in exported) == sorted(names)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, username="demo-admin").count() == count

    # --- A course from the list: the admin's summary page ---
    rows.first.locator("th a").click()
    expect(page).to_have_url(re.compile(rf"{base}/clinic/courses/[0-9a-f-]+/"))

    # --- A date that is not a date: a message, the dashboard still there ---
    page.goto(f"{base}/clinic/?from=31/02/2026")
    expect(page.get_by_test_id("filter-notice").first).to_contain_text("is not a date")
    expect(page.get_by_test_id("headline")).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=artifacts / "clinic-caseload-bad-date.png", full_page=True)
