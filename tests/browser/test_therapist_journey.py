"""A whole IPT course in the browser, as a therapist runs it (issue 3's journey).

Only the therapist's account and clinic are made in the database; everything
else is typed and clicked: the patient, the course, the six initial-phase
steps, twelve session notes through the initial, middle and termination
phases (one with a positive PHQ-9 item 9, which blocks signing until a risk
check is recorded), completing the course, and finding it on the dashboard.
Every distinct page is checked with axe-core on the way, and screenshots of
the dashboard, the course page and a session form are kept in test-artifacts/.

The course starts eleven weeks ago so that twelve weekly sessions end today:
session dates can never be in the future.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from sessions_app import measures
from tests import factories
from tests.browser.conftest import assert_accessible
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

PATIENT = "Nora Quinn"
PARTNER = "Sam"
PLANNED = 12
ANSWER = dict(measures.ANSWERS)  # 0 → "Not at all", ...
PHQ9_ITEMS = measures.ITEMS[measures.Instrument.PHQ9]
GOALS = (
    "Talk with Sam about sharing the housework without it turning into a row",
    "Tell Sam calmly when I feel let down",
)
# What the closeness circle and the inventory are built from: (name, relationship, ring, contact).
PEOPLE = (
    (PARTNER, "Partner", "1 — closest", "Daily"),
    ("Mum", "Parent", "2", "Weekly"),
    ("Priya", "Friend", "3 — furthest", "Monthly"),
)


@dataclass(frozen=True)
class Visit:
    """One session of the course as the therapist records it."""

    number: int
    phq9: int  # total, spread over items 1–8
    phase: str  # the phase the form should default to
    progress: tuple[str, str]  # progress on each goal (labels of GoalReview.Progress)
    item9: int = 0


# PHQ-9 falls from 18 at intake (moderately severe) to 3 (minimal) at the end.
INTAKE_PHQ9 = (2, 3, 2, 3, 2, 2, 2, 2, 0)  # 18
SOME, SUBSTANTIAL, ACHIEVED = "Some progress", "Substantial progress", "Achieved"
VISITS = (
    Visit(2, 17, "Middle", ("Not started", "Not started")),
    Visit(3, 16, "Middle", (SOME, "Not started")),
    Visit(4, 14, "Middle", (SOME, SOME)),
    Visit(5, 13, "Middle", (SOME, SOME), item9=1),  # the one positive item 9: risk check needed
    Visit(6, 11, "Middle", (SUBSTANTIAL, SOME)),
    Visit(7, 10, "Middle", (SUBSTANTIAL, SOME)),
    Visit(8, 9, "Middle", (SUBSTANTIAL, SUBSTANTIAL)),
    Visit(9, 7, "Middle", (SUBSTANTIAL, SUBSTANTIAL)),
    Visit(10, 6, "Termination", (ACHIEVED, SUBSTANTIAL)),
    Visit(11, 4, "Termination", (ACHIEVED, SUBSTANTIAL)),
    Visit(12, 3, "Termination", (ACHIEVED, ACHIEVED)),
)


def spread(total: int, item9: int = 0) -> list[int]:
    """Nine PHQ-9 answers adding up to `total`, with item 9 as given."""
    items = [0] * 8
    left = total - item9
    for i in range(len(items)):
        items[i] = min(3, left)
        left -= items[i]
    assert left == 0, f"{total} does not fit into eight items"
    return [*items, item9]


def iso(day: date) -> str:
    return day.isoformat()


# --- Helpers -------------------------------------------------------------------------------------------


def answer_phq9(scope: Locator, answers: list[int] | tuple[int, ...]) -> None:
    """Answer each PHQ-9 item by its exact wording (each item is a fieldset named by its text)."""
    for text, value in zip(PHQ9_ITEMS, answers, strict=True):
        scope.get_by_role("group", name=text).get_by_label(ANSWER[value], exact=True).check()


def see_message(page: Page, text: str | re.Pattern) -> None:
    expect(page.get_by_role("status").filter(has_text=text).first).to_be_visible()


def open_course_from_session(page: Page) -> None:
    """From a session page, back to the course page through the patient's name in the heading."""
    page.get_by_role("heading", level=1).get_by_role("link", name=PATIENT).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"IPT course: {PATIENT}")


def open_details(page: Page, summary: str) -> None:
    """Open a collapsed <details> section of the session form (a click on its summary)."""
    details = page.locator("details").filter(has=page.locator("summary", has_text=summary))
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    expect(details).to_have_attribute("open", "")


def fill_session_basics(page: Page, on: date, events: str) -> None:
    page.get_by_label(re.compile(r"^\s*Date\*?\s*$")).fill(iso(on))
    page.get_by_label("Duration (minutes)").fill("50")
    expect(page.get_by_role("group", name="Attendance").get_by_label("Attended")).to_be_checked()
    page.get_by_label("Interpersonal events and mood since we last met").fill(events)
    page.get_by_role("group", name="People discussed").get_by_label(f"{PARTNER} (Partner)").check()


# --- The journey ---------------------------------------------------------------------------------------


@pytest.fixture
def journey_therapist(transactional_db):
    clinic = factories.ClinicFactory(name="Riverside IPT Clinic")
    return factories.TherapistFactory(
        clinic=clinic, username="journey-therapist", first_name="Rosa", last_name="Lind"
    )


def test_a_therapist_runs_a_whole_ipt_course(page: Page, live_server, journey_therapist, artifacts):
    base = live_server.url
    today = timezone.localdate()
    start = today - timedelta(weeks=PLANNED - 1)
    session_day = {n: start + timedelta(weeks=n - 1) for n in range(1, PLANNED + 1)}

    # 1. Sign in; the dashboard is empty. Add a patient, start a 12-session weekly course.
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("journey-therapist")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/therapist/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My patients")
    expect(page.get_by_test_id("no-patients")).to_be_visible()
    assert_accessible(page)

    page.get_by_test_id("add-patient").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a patient")
    assert_accessible(page)
    page.get_by_label("Given name").fill("Nora")
    page.get_by_label("Family name").fill("Quinn")
    page.get_by_label("Date of birth").fill("1988-03-14")
    page.get_by_role("group", name="Diagnosis and conditions").get_by_label("Depression", exact=True).check()
    page.get_by_label("Presenting concerns").fill("Low mood since arguments at home began in the spring.")
    page.get_by_role("button", name="Add patient").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Start an IPT course for {PATIENT}")
    see_message(page, f"{PATIENT} added")
    assert_accessible(page)
    page.get_by_label("Planned sessions").select_option(label="12 sessions")
    page.get_by_label("Frequency").select_option(label="Weekly")
    page.get_by_label("Start date (first session)").fill(iso(start))
    page.get_by_role("button", name="Start course").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(f"IPT course: {PATIENT}")
    see_message(page, "IPT course started: 12 sessions")
    expect(page.get_by_test_id("course-position")).to_have_text("No session yet · 12 planned")
    expect(page.get_by_test_id("course-status")).to_contain_text("Active")
    assert_accessible(page)

    # Session 1, the first meeting, sits in the initial phase. Its PHQ-9 is the
    # intake questionnaire of the symptom review (step 1), so it is not taken twice.
    page.get_by_role("link", name="Log session").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("New session")
    expect(page.get_by_text("If attended, this is session 1 of 12 planned.")).to_be_visible()
    expect(page.get_by_role("combobox", name="Phase", exact=True)).to_have_value("initial")
    expect(page.get_by_text("No one in the interpersonal inventory yet.").first).to_be_visible()
    assert_accessible(page)
    page.get_by_label(re.compile(r"^\s*Date\*?\s*$")).fill(iso(session_day[1]))
    page.get_by_label("Duration (minutes)").fill("60")
    page.get_by_label("Interpersonal events and mood since we last met").fill(
        "First meeting: low mood for four months, rows with Sam about the house."
    )
    page.get_by_label("Record the PHQ-9 this session").uncheck()
    open_details(page, "Risk check")
    page.get_by_role("group", name="Suicidal ideation").get_by_label("None", exact=True).check()
    page.get_by_role("textbox", name="Private note").fill("Engaged; keen to work on the relationship.")
    page.get_by_role("button", name="Sign", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Session 1 on")
    see_message(page, "signed")
    expect(page.get_by_text("Signed and locked")).to_be_visible()
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    assert_accessible(page)

    # 2. The initial-phase stepper, step by step.
    open_course_from_session(page)
    page.get_by_role("link", name="Initial phase steps").click()

    # Step 1: PHQ-9 item by item; the saved total and band are shown.
    expect(page.get_by_role("heading", level=1)).to_contain_text("step 1 of 6: Symptoms and medication")
    assert_accessible(page)
    page.get_by_label("Questionnaires completed on").fill(iso(start))
    answer_phq9(page.get_by_test_id("phq9-items"), INTAKE_PHQ9)
    page.get_by_label("Current medication").fill("Sertraline 100 mg daily")
    page.get_by_label("Need for medication reviewed on").fill(iso(start))
    page.get_by_role("button", name="Save symptom review").click()
    see_message(page, "Symptom review saved. PHQ-9 total 18: moderately severe.")
    expect(page.get_by_test_id("phq9-result")).to_contain_text("PHQ-9 total 18 of 27: Moderately severe")
    expect(page.get_by_role("group", name=PHQ9_ITEMS[1]).get_by_label("Nearly every day")).to_be_checked()
    assert_accessible(page)  # with the recorded result shown

    # Step 2: psychoeducation and the sick role, recorded as done.
    page.get_by_role("navigation", name="Initial phase steps").get_by_role(
        "link", name="Psychoeducation and the sick role"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("step 2 of 6")
    assert_accessible(page)
    page.get_by_label("Psychoeducation and the sick role discussed on").fill(iso(start))
    page.get_by_role("button", name="Record as done").click()
    see_message(page, "Psychoeducation and the sick role recorded.")

    # Step 3: the interpersonal inventory, three people; the circle redraws each time.
    expect(page.get_by_role("heading", level=1)).to_contain_text("step 3 of 6: Interpersonal inventory")
    assert_accessible(page)
    for count, (name, relationship, ring, contact) in enumerate(PEOPLE, start=1):
        page.get_by_label("Name or label").fill(name)
        page.get_by_label("Relationship").select_option(label=relationship)
        page.get_by_role("group", name="Closeness ring").get_by_label(ring, exact=True).check()
        page.get_by_label("Contact").select_option(label=contact)
        if name == PARTNER:
            page.get_by_label("Negative aspects").fill("Rows about housework and money; she feels unheard.")
            page.get_by_label("Expectations met").select_option(label="Partly")
            page.get_by_label("Would like to change").fill("Talk without it turning into a row.")
        page.get_by_role("button", name="Add to the inventory").click()
        see_message(page, f"{name} added to the inventory.")
        expect(page.get_by_test_id("closeness-circle").locator("g.person-dot")).to_have_count(count)
    circle = page.get_by_test_id("closeness-circle")
    for name, _, ring, _ in PEOPLE:
        expect(circle.locator(f'g.person-dot[data-ring="{ring[0]}"]')).to_contain_text(name)
    expect(page.get_by_test_id("inventory-table").locator("tbody tr")).to_have_count(3)
    assert_accessible(page)  # with the circle and the table

    # Step 4: a role dispute with the partner, in renegotiation, as the primary area.
    page.get_by_role("link", name="Next: Problem areas").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("step 4 of 6: Problem areas")
    assert_accessible(page)
    primary = page.get_by_role("region", name="Primary focus")
    primary.get_by_label("Primary problem area").select_option(label="Role dispute")
    primary.get_by_label("Why this area").fill("The low mood began with the rows at home.")
    primary.get_by_label("Stage of the dispute").select_option(label="Renegotiation")
    primary.get_by_label("Person involved").select_option(label=f"{PARTNER} (Partner)")
    page.get_by_role("button", name="Save problem areas").click()
    see_message(page, "Problem areas saved.")

    # Step 5: the formulation, shared and agreed.
    expect(page.get_by_role("heading", level=1)).to_contain_text("step 5 of 6: Formulation")
    assert_accessible(page)
    page.get_by_role("textbox", name=re.compile(r"^Formulation\*?$")).fill(
        "Nora's depression began as the disagreements with Sam about the home grew; we will work on "
        "what each of them expects and how they talk about it."
    )
    page.get_by_label("Shared with the patient on").fill(iso(start))
    page.get_by_label("The patient agreed the formulation").check()
    page.get_by_role("button", name="Save formulation").click()
    see_message(page, "Formulation saved.")

    # Step 6: the contract (12 weekly sessions) with two goals for the role dispute.
    expect(page.get_by_role("heading", level=1)).to_contain_text("step 6 of 6: Treatment contract and goals")
    assert_accessible(page)
    expect(page.get_by_label("Planned sessions")).to_have_value(str(PLANNED))
    page.get_by_label("Frequency").select_option(label="Weekly")
    page.get_by_label("Contract agreed on").fill(iso(start))
    new_goals = page.get_by_role("group", name="New goal")
    expect(new_goals).to_have_count(2)
    for index, text in enumerate(GOALS):
        row = new_goals.nth(index)
        expect(row.get_by_label("Problem area")).to_have_value(re.compile(r"\d+"))
        row.get_by_label("Goal, in the patient's words").fill(text)
        expect(row.get_by_label("Show on the patient's portal")).to_be_checked()
    page.get_by_role("button", name="Save contract and goals").click()

    # Every initial task is done: the course page says so and the course is in the middle phase.
    see_message(page, "Treatment contract and goals saved.")
    see_message(page, "the course has moved to the middle phase")
    expect(page.get_by_test_id("course-phase")).to_contain_text("Middle")
    expect(page.get_by_test_id("initial-checklist").locator("li.is-done")).to_have_count(7)
    expect(page.get_by_test_id("initial-checklist").locator("li.is-missing")).to_have_count(0)
    header = page.get_by_test_id("course-header")
    expect(header).to_contain_text("Role dispute (primary): renegotiation")
    expect(page.get_by_test_id("formulation-facts")).to_contain_text("the patient agreed it")
    expect(page.get_by_test_id("closeness-circle").locator("g.person-dot")).to_have_count(3)
    assert_accessible(page)

    # The dashboard shows the course running, with its phase and focus.
    page.get_by_role("link", name="IPT Tracker").click()
    row = page.get_by_test_id("patient-row").filter(has_text=PATIENT)
    expect(row).to_contain_text("session 1 of 12")
    expect(row).to_contain_text("Role dispute")
    expect(row.locator("td").nth(1)).to_have_text("Middle")
    expect(row.get_by_test_id("phq9-direction")).to_have_count(0)  # one score so far: the baseline
    assert_accessible(page)
    row.get_by_role("link", name=f"Course of {PATIENT}").click()

    # 3. Sessions 2 to 12 through the session form, each signed.
    for visit in VISITS:
        log_session(page, visit, session_day[visit.number], artifacts)

    # The termination checklist is complete after the last session.
    expect(page.get_by_test_id("course-position")).to_have_text("Session 12 of 12")
    expect(page.get_by_test_id("course-phase")).to_contain_text("Termination")
    checklist = page.get_by_test_id("phase-checklist")
    expect(checklist.locator("li.is-done")).to_have_count(5)
    expect(checklist.locator("li.is-missing")).to_have_count(0)
    sessions = page.get_by_test_id("session-list").locator("tbody tr")
    expect(sessions).to_have_count(PLANNED)
    expect(sessions.filter(has_text="Draft")).to_have_count(0)
    # Session 1 was held before the initial tasks were all done; the rest follow the contract.
    phases = {1: "Initial", 2: "Middle", 9: "Middle", 10: "Termination", 12: "Termination"}
    for number, phase in phases.items():
        expect(sessions.nth(number - 1)).to_contain_text(f"Session {number}")
        expect(sessions.nth(number - 1).locator("td").nth(2)).to_have_text(phase)

    # 4. Complete the course.
    page.get_by_role("link", name="Complete course").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Complete the course")
    expect(page.get_by_text("12 of 12 planned sessions held.")).to_be_visible()
    expect(page.get_by_text("not signed yet")).to_have_count(0)
    expect(page.get_by_label("After the course")).to_have_value("none")  # decided in session 12
    expect(page.get_by_label("End date")).to_have_value(iso(today))
    assert_accessible(page)
    page.get_by_label("Note on the ending (optional)").fill("Planned ending; remission at the last session.")
    page.get_by_role("button", name="Complete course").click()

    # The course page: completed, three phases on the timeline, the score chart.
    see_message(page, "The course is completed.")
    expect(page.get_by_test_id("course-status")).to_contain_text("Completed")
    expect(page.get_by_test_id("course-status")).to_contain_text("after the course: no further treatment")
    expect(page.get_by_test_id("course-actions")).to_have_count(0)
    timeline = page.get_by_test_id("phase-timeline")
    for phase in ("initial", "middle", "termination"):
        expect(timeline.locator(f"rect.band-{phase}")).to_have_count(1)
    expect(
        timeline.locator("text.tick").filter(has_text=re.compile("^(Initial|Middle|Termination)$"))
    ).to_have_count(3)
    expect(timeline.locator("circle.mark.attended")).to_have_count(PLANNED)
    chart = page.get_by_test_id("score-chart")
    expect(chart).to_have_js_property("tagName", "svg")
    expect(chart.locator("polyline.line")).to_have_count(1)
    # The intake PHQ-9 and one per session from session 2: eleven more points.
    expect(chart.locator("circle.dot")).to_have_count(1 + len(VISITS))
    expect(chart.locator("line.threshold")).to_have_count(4)
    scores = page.get_by_test_id("score-table").locator("tbody tr")
    expect(scores).to_have_count(1 + len(VISITS))
    expect(scores.first).to_contain_text("18 Moderately severe")
    expect(scores.last).to_contain_text("3 Minimal")
    phq9_totals = [int(cell.split()[0]) for cell in scores.locator("td:nth-child(2)").all_inner_texts()]
    assert phq9_totals == [18, *(visit.phq9 for visit in VISITS)]  # falling, in date order
    expect(scores.filter(has_text="item 9")).to_have_count(1)
    goal_rows = page.get_by_role("region", name="Goals").locator("tbody tr")
    for text in GOALS:
        expect(goal_rows.filter(has_text=text)).to_contain_text("Achieved (session 12")
    assert_accessible(page)
    page.screenshot(path=artifacts / "journey-course.png", full_page=True)

    # The dashboard: gone from the active list, found with the "completed" filter.
    page.get_by_role("link", name="IPT Tracker").click()
    expect(page.get_by_test_id("patient-row")).to_have_count(0)
    page.get_by_label("Status").select_option(label="Completed courses")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"status=completed"))
    row = page.get_by_test_id("patient-row").filter(has_text=PATIENT)
    expect(row).to_contain_text("Completed after 12 sessions")
    expect(row).to_contain_text("3 Minimal")
    expect(row.get_by_test_id("phq9-direction")).to_contain_text("down 15 since baseline")
    assert_accessible(page)
    page.screenshot(path=artifacts / "journey-dashboard.png", full_page=True)


def log_session(page: Page, visit: Visit, on: date, artifacts) -> None:
    """Log and sign one session from the course page, and come back to the course page."""
    page.get_by_role("link", name="Log session").click()
    position = f"If attended, this is session {visit.number} of {PLANNED} planned."
    expect(page.get_by_text(position)).to_be_visible()
    expect(page.get_by_role("combobox", name="Phase", exact=True)).to_have_value(visit.phase.lower())
    first_of_phase = visit.number in (2, 10)
    if first_of_phase:
        assert_accessible(page)

    fill_session_basics(page, on, f"Week {visit.number}: talked with Sam twice; mood a little lighter.")
    answers = spread(visit.phq9, visit.item9)
    phq9 = page.locator('[data-measure="phq9"]')
    expect(phq9.get_by_label("Record the PHQ-9 this session")).to_be_checked()
    answer_phq9(phq9, answers)

    if visit.phase == "Middle":
        # The middle-phase block is open by default in the middle phase.
        areas = page.get_by_role("group", name="Problem areas worked on")
        areas.get_by_label("Role dispute (primary)").check()
        page.get_by_role("group", name="IPT strategies used").get_by_label(
            "Communication analysis of an exchange"
        ).check()
        expect(page.get_by_label("Stage of the role dispute")).to_have_value("renegotiation")
        techniques = page.get_by_role("group", name="IPT techniques used")
        techniques.get_by_label("Communication analysis", exact=True).check()
        techniques.get_by_label("Role play").check()

    for goal, progress in zip(GOALS, visit.progress, strict=True):
        page.get_by_role("group", name=f"Progress: {goal}").get_by_label(progress, exact=True).check()
    page.get_by_label(f"Note on “{GOALS[0]}”").fill(f"Session {visit.number}: one calm talk about chores.")

    if visit.number > 2:
        page.get_by_label("Outcome of the last task").select_option(label="Done")
    page.get_by_label("New between-session task").select_option(label="Communication practice")
    page.get_by_label("Task details").fill("Use an 'I' statement once this week when something goes wrong.")

    if visit.phase == "Termination":
        open_details(page, "Termination phase")
        expect(page.get_by_role("table").filter(has_text="Baseline")).to_contain_text("PHQ-9")
        if visit.number == 10:
            page.get_by_label("Ending discussed on").fill(iso(on))
            page.get_by_label("Feelings about ending").fill("Sad to stop, proud of the change.")
        elif visit.number == 11:
            page.get_by_label("Gains, credited to the patient").fill("Nora found her own words with Sam.")
            page.get_by_label("Relapse warning signs (the patient will see this)").fill(
                "Sleeping badly for a week; avoiding talking with Sam."
            )
            page.get_by_label("Coping plan (the patient will see this)").fill(
                "Name the feeling, book a calm talk, call Priya, see the GP if two weeks pass."
            )
        else:
            expect(page.get_by_label("Ending discussed on")).not_to_have_value("")
            page.get_by_label("Continuation decision").select_option(label="No further treatment")
            page.screenshot(path=artifacts / "journey-session-form.png", full_page=True)
            assert_accessible(page)

    page.get_by_role("button", name="Sign", exact=True).click()

    if visit.item9:
        # Item 9 above 0 blocks signing; nothing is saved and nothing typed is lost.
        see_message(page, "Not signed, and nothing saved yet")
        expect(page.get_by_role("heading", level=1)).to_contain_text("New session")
        expect(page.get_by_label("Interpersonal events and mood since we last met")).to_have_value(
            re.compile(f"^Week {visit.number}:")
        )
        item9 = page.get_by_role("group", name=PHQ9_ITEMS[8])
        expect(item9.get_by_label(ANSWER[visit.item9], exact=True)).to_be_checked()
        risk = page.locator("details.risk-block")
        expect(risk).to_have_attribute("open", "")
        expect(risk).to_contain_text("record a risk check before signing")
        assert_accessible(page)  # the form with its errors
        risk.get_by_role("group", name="Suicidal ideation").get_by_label("Passive").check()
        risk.get_by_label("Has a plan").select_option(label="No")
        risk.get_by_label("Has intent").select_option(label="No")
        risk.get_by_label("Safety plan").fill("Call Priya or the crisis line; GP appointment this week.")
        risk.get_by_label("Action taken").fill("Assessed in session: passive thoughts, no plan or intent.")
        page.get_by_role("button", name="Sign", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Session {visit.number} on")
    see_message(page, "signed")
    expect(page.get_by_text("Signed and locked")).to_be_visible()
    scores = page.get_by_role("region", name="Scores")
    expect(scores).to_contain_text(f"PHQ-9: {visit.phq9}")
    if visit.item9:
        expect(scores).to_contain_text("item 9 positive")
        expect(page.get_by_role("region", name="Risk check")).to_contain_text("Passive")
        assert_accessible(page)  # the session page with its risk check
    reviews = page.get_by_role("region", name="Goal reviews")
    for goal, progress in zip(GOALS, visit.progress, strict=True):
        expect(reviews.get_by_role("listitem").filter(has_text=goal)).to_contain_text(progress)
    open_course_from_session(page)
    expect(page.get_by_test_id("course-position")).to_have_text(f"Session {visit.number} of {PLANNED}")
