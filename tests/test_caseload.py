"""The clinic admin's caseload dashboard (/clinic/) and the lists behind its figures (/clinic/patients/).

Figures are checked against the hand-built caseload of tests/caseload_data.py;
every count on the page is followed to its list, which must hold exactly that
many courses. Access, other clinics, bad filters and query counts are here too;
the CSV export is in test_caseload_export.py.
"""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils.html import escape

from sessions_app import caseload, ipt, measures
from sessions_app.models import AuditEvent, Course
from tests import caseload_data as data
from tests import factories

pytestmark = pytest.mark.django_db

HOME = reverse("clinic-home")
LIST = reverse("clinic-patients")
COUNT_LINK = re.compile(
    r'<a class="count" href="(?P<url>[^"]+)" data-count="(?P<count>\d+)"(?P<notes> data-unit="notes")?'
)


def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def foreign_therapist(other_clinic):
    return factories.TherapistFactory(clinic=other_clinic, username="foreign-therapist")


@pytest.fixture
def courses(therapist, other_therapist, foreign_therapist):
    return data.build(therapist, other_therapist, foreign_therapist)


@pytest.fixture
def admin_client(client, clinic_admin):
    return signed_in(client, clinic_admin)


def listed(response) -> set[str]:
    """Family names of the patients on a list page (the caseload's course keys are unique by them)."""
    return {course.patient.family_name for course in response.context["rows"]}


def family_names(courses, keys) -> set[str]:
    return {courses[key].patient.family_name for key in keys}


def list_of(client, figure: str, **params):
    response = client.get(LIST, {"figure": figure, **params})
    assert response.status_code == 200
    return response


# The headline figures --------------------------------------------------------------------------------


def test_headline_figures_match_the_hand_built_caseload(admin_client, courses):
    response = admin_client.get(HOME)

    assert response.status_code == 200
    headline = response.context["headline"]
    for key, expected in data.EXPECTED_HEADLINE.items():
        if key in caseload.LIVE_COUNTED:
            assert headline.cells[key].value == len(expected), key
    assert headline.late_unsigned_notes.value == data.LATE_UNSIGNED_NOTES


@pytest.mark.parametrize("figure", sorted(data.EXPECTED_HEADLINE))
def test_each_list_holds_exactly_the_courses_behind_its_figure(admin_client, courses, figure):
    response = list_of(admin_client, figure)
    assert listed(response) == family_names(courses, data.EXPECTED_HEADLINE[figure])
    assert response.context["page"].paginator.count == len(data.EXPECTED_HEADLINE[figure])


def test_every_count_on_the_dashboard_links_to_a_list_of_that_many(admin_client, courses):
    html = admin_client.get(HOME).content.decode()
    links = COUNT_LINK.findall(html)
    # Headline: 8 cards, 4 phases, 5 areas. Per therapist: 2 rows and the totals, 9 counts each.
    # Outcomes: 4 in the summary; per therapist A 3+5, B 3+4 (no case at baseline: no recovery
    # rate), overall 3+5; per area grief 3+5, role dispute 3+4, role transition 3+5, deficits 3.
    assert len(links) == 17 + 27 + 4 + (8 + 7 + 8) + (8 + 7 + 8 + 3)
    for url, count, notes in links:
        response = admin_client.get(unescape(url))
        assert response.status_code == 200, url
        rows = response.context["rows"]
        shown = sum(course.late_unsigned_count for course in rows) if notes else len(rows)
        assert shown == int(count), unescape(url)


def test_headline_cards_link_to_their_lists(admin_client, courses):
    html = admin_client.get(HOME).content.decode()
    for key, count in (("overdue", 2), ("risk", 3), ("past_plan", 1), ("active", 7)):
        match = re.search(rf'<a class="count" href="([^"]+)" data-count="{count}" data-figure="{key}"', html)
        assert match, key
        assert parse_qs(urlsplit(unescape(match.group(1))).query)["figure"] == [key]


def test_unsigned_notes_are_late_after_48_hours_from_the_end_of_the_session_day(therapist, courses):
    annotated = Course.objects.with_caseload_figures(today=data.today())
    a3 = annotated.get(pk=courses["A3"].pk)
    assert a3.late_unsigned_count == 1  # the session of T-3; the one of T-2 is not late yet
    assert ipt.unsigned_note_late_before(data.today()) == data.days_ago(2)


def test_the_phase_annotation_follows_ipt_current_phase_and_is_empty_once_ended(courses):
    annotated = {c.pk: c for c in Course.objects.with_caseload_figures(today=data.today())}
    for key in ("A1", "A2", "A3", "A4", "B1", "B2", "B3"):
        row = annotated[courses[key].pk]
        assert row.current_phase == ipt.current_phase(
            row.latest_phase, initial_closed=row.middle_phase_started_on is not None
        ), key
    for key in ("C1", "D1"):
        assert annotated[courses[key].pk].current_phase is None


@pytest.mark.parametrize(
    ("instrument", "baseline", "latest"),
    [
        ("phq9", 10, 15),
        ("phq9", 10, 16),
        ("phq9", 10, 17),
        ("phq9", 16, 10),
        ("phq9", 0, 6),
        ("gad7", 5, 8),
        ("gad7", 5, 9),
        ("gad7", 9, 5),
    ],
)
def test_deterioration_in_sql_agrees_with_measures_outcome(therapist, instrument, baseline, latest):
    course = factories.CourseFactory(
        patient=factories.PatientFactory(clinic=therapist.clinic, therapist=therapist)
    )
    for ago, total in ((30, baseline), (2, latest)):
        factories.MeasureResponseFactory(
            course=course,
            instrument=instrument,
            items=data.items(instrument, total),
            taken_on=data.days_ago(ago),
        )
    row = Course.objects.with_caseload_figures(today=data.today()).get(pk=course.pk)
    expected = measures.outcome(instrument, baseline, latest).reliable_deterioration
    assert row.is_deteriorating is expected
    assert row.has_risk_flag is expected


def test_a_maintenance_course_is_not_past_its_plan_and_an_ended_one_never_flags(courses):
    annotated = {c.pk: c for c in Course.objects.with_caseload_figures(today=data.today())}
    assert annotated[courses["B2"].pk].is_past_plan is True
    assert annotated[courses["B3"].pk].is_past_plan is False
    for key in ("C1", "C3", "D1"):
        row = annotated[courses[key].pk]
        assert (row.is_overdue, row.has_risk_flag, row.is_deteriorating, row.is_past_plan) == (
            False,
            False,
            False,
            False,
        ), key


# The per-therapist table --------------------------------------------------------------------------------


def test_per_therapist_table(admin_client, courses, therapist, other_therapist):
    rows = {row.name: row for row in admin_client.get(HOME).context["therapist_rows"]}
    assert set(rows) == {therapist.display_name, other_therapist.display_name}

    def figures(row):
        return {
            "active": row.cells["active"].value,
            "phases": [cell.value for cell in row.phases],
            "overdue": row.cells["overdue"].value,
            "risk": row.cells["risk"].value,
            "notes": row.late_unsigned_notes.value,
            "completed": row.cells["completed"].value,
        }

    # Phases in order: initial, middle, termination, maintenance.
    assert figures(rows[therapist.display_name]) == {
        "active": 4,
        "phases": [2, 2, 0, 0],
        "overdue": 2,
        "risk": 2,
        "notes": 3,
        "completed": 2,
    }
    assert figures(rows[other_therapist.display_name]) == {
        "active": 3,
        "phases": [0, 0, 1, 2],
        "overdue": 0,
        "risk": 1,
        "notes": 0,
        "completed": 3,
    }


def test_a_therapist_without_courses_still_has_a_row_of_zeros(admin_client, clinic):
    newcomer = factories.TherapistFactory(clinic=clinic, first_name="Nina", last_name="Newcomer")
    rows = admin_client.get(HOME).context["therapist_rows"]
    (row,) = [row for row in rows if row.name == newcomer.display_name]
    assert all(cell.value == 0 for cell in row.cells.values())


def test_per_therapist_links_list_that_therapists_courses(admin_client, courses, other_therapist):
    rows = admin_client.get(HOME).context["therapist_rows"]
    (row,) = [row for row in rows if row.name == other_therapist.display_name]
    response = admin_client.get(row.cells["active"].url)
    assert listed(response) == family_names(courses, ["B1", "B2", "B3"])


# Outcomes ------------------------------------------------------------------------------------------------


def rates(row) -> dict[str, tuple[int, int]]:
    return {
        key: (cell.cell.value, cell.denominator)
        for (key, _, _), cell in zip(caseload.OUTCOME_COLUMNS, row.rates, strict=True)
    }


def test_overall_outcomes_computed_by_hand(admin_client, courses):
    overall = admin_client.get(HOME).context["outcomes"].overall

    # Completed in the last 12 months: C1–C5 (C6 ended 400 days ago).
    assert overall.completed.value == 5
    assert (overall.no_baseline.value, overall.no_final.value, overall.measured.value) == (1, 1, 3)
    # Changes: C1 20→8 = −12, C2 12→4 = −8, C3 9→16 = +7; mean −13/3.
    assert overall.mean_change == pytest.approx(-13 / 3)
    assert overall.mean_change_text == "−4.3"
    assert rates(overall) == {
        "response": (2, 3),  # C1 fell 12 of 20, C2 8 of 12: both by half or more
        "remission": (1, 3),  # C2 ended at 4
        "reliable_improvement": (2, 3),  # C1 and C2 fell by 6 or more
        "reliable_deterioration": (1, 3),  # C3 rose by 7
        "recovery": (2, 2),  # C1 and C2 were cases (≥10) and ended below 10; C3 started at 9
    }
    assert [cell.percent for cell in overall.rates] == [67, 33, 67, 33, 100]


def test_outcomes_per_therapist_and_per_area(admin_client, courses, therapist, other_therapist):
    outcomes = admin_client.get(HOME).context["outcomes"]
    by_therapist = {row.label: row for row in outcomes.by_therapist}

    mine = by_therapist[therapist.display_name]
    assert (mine.completed.value, mine.measured.value, mine.mean_change) == (2, 2, -10)
    assert rates(mine) == {
        "response": (2, 2),
        "remission": (1, 2),
        "reliable_improvement": (2, 2),
        "reliable_deterioration": (0, 2),
        "recovery": (2, 2),
    }
    theirs = by_therapist[other_therapist.display_name]
    assert (theirs.completed.value, theirs.no_baseline.value, theirs.no_final.value) == (3, 1, 1)
    assert theirs.mean_change == 7
    assert rates(theirs)["recovery"] == (0, 0)
    assert theirs.rates[-1].percent is None  # no case at baseline: no rate, not 0 %

    by_area = {row.label: row for row in outcomes.by_area}
    assert {label: row.completed.value for label, row in by_area.items()} == {
        "Grief": 1,
        "Role dispute": 2,
        "Role transition": 1,
        "Interpersonal deficits": 0,
    }
    assert by_area["Role dispute"].no_final.value == 1
    assert by_area["Interpersonal deficits"].mean_change is None


def test_the_page_says_how_many_courses_lacked_scores(admin_client, courses):
    html = admin_client.get(HOME).content.decode()
    summary = re.search(r'data-testid="outcome-summary">(.*?)</p>', html, re.S).group(1)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", summary))
    assert "5 courses completed; 3 with a baseline and a final PHQ-9." in text
    assert "Left out of the rates: 1 with no PHQ-9 at all and 1 with a baseline but no later score" in text


def test_outcome_definitions_come_from_measures(admin_client, courses):
    html = admin_client.get(HOME).content.decode()
    assert f"Final PHQ-9 below {measures.REMISSION_BELOW['phq9']}." in html
    assert f"by {measures.RELIABLE_CHANGE['phq9']} points or more" in html


def test_no_completed_course_in_the_period_says_so(admin_client, courses):
    response = admin_client.get(HOME, {"from": "2000-01-01", "to": "2000-12-31"})
    assert 'data-testid="no-outcomes"' in response.content.decode()
    assert response.context["outcomes"].overall.completed.value == 0


def test_mean_phq9_by_session_number_chart_and_table(admin_client, therapist):
    # Two completed courses; PHQ-9 at intake (no session) and at sessions 1 and 2.
    for totals in ((20, 16, 12), (14, 10, 7)):
        course = data.make_course(
            therapist,
            f"Chart{totals[0]}",
            status=Course.Status.COMPLETED,
            end_days_ago=5,
        )
        factories.MeasureResponseFactory(
            course=course, items=data.items("phq9", totals[0]), taken_on=data.days_ago(90)
        )
        for number, total in enumerate(totals[1:], start=1):
            session = factories.TherapySessionFactory(
                course=course, number=number, date=data.days_ago(80 - number)
            )
            factories.MeasureResponseFactory(
                course=course, session=session, items=data.items("phq9", total), taken_on=session.date
            )
    # An active course's scores are not part of it.
    active = data.make_course(therapist, "Running")
    factories.MeasureResponseFactory(course=active, items=data.items("phq9", 24), taken_on=data.days_ago(3))

    response = admin_client.get(HOME)

    points = response.context["outcomes"].chart_rows
    assert [(p.position, p.mean, p.courses) for p in points] == [(0, 17.0, 2), (1, 13.0, 2), (2, 9.5, 2)]
    html = response.content.decode()
    assert 'data-testid="mean-score-chart"' in html
    assert html.count('class="dot phq9"') == 3
    assert "Session 2: mean PHQ-9 9.5 over 2 courses" in html
    table = re.search(r'data-testid="mean-phq9-table">(.*?)</table>', html, re.S).group(1)
    assert "<caption>" in table
    assert re.search(r">Intake</th><td[^>]*>17\.0</td><td[^>]*>2</td>", table)


# Filters -------------------------------------------------------------------------------------------------


def headline_values(response) -> dict[str, int]:
    return {key: cell.value for key, cell in response.context["headline"].cells.items()}


def test_therapist_filter(admin_client, courses, other_therapist):
    response = admin_client.get(HOME, {"therapist": str(other_therapist.public_id)})
    values = headline_values(response)
    assert (values["active"], values["overdue"], values["risk"], values["completed"]) == (3, 0, 1, 3)
    assert [row.name for row in response.context["therapist_rows"]] == [other_therapist.display_name]
    assert [row.label for row in response.context["outcomes"].by_therapist] == [other_therapist.display_name]
    # The filter travels with every link.
    active_url = response.context["headline"].cells["active"].url
    assert parse_qs(urlsplit(active_url).query)["therapist"] == [str(other_therapist.public_id)]
    assert listed(admin_client.get(active_url)) == family_names(courses, ["B1", "B2", "B3"])


def test_problem_area_filter(admin_client, courses):
    response = admin_client.get(HOME, {"area": "role_dispute"})
    values = headline_values(response)
    assert (values["active"], values["risk"], values["completed"]) == (2, 2, 2)  # A2, B1; C3, C4
    assert values["area:role_transition"] == 1  # A2 works on both
    assert [row.label for row in response.context["outcomes"].by_area] == ["Role dispute"]
    url = response.context["headline"].cells["area:role_transition"].url
    assert listed(admin_client.get(url)) == family_names(courses, ["A2"])


def test_phase_filter_narrows_live_figures_but_not_outcomes(admin_client, courses):
    response = admin_client.get(HOME, {"phase": "maintenance"})
    values = headline_values(response)
    assert values["active"] == 2
    assert values["past_plan"] == 1
    assert values["overdue"] == 0
    assert values["unsigned"] == 0  # only active courses have a phase
    assert values["phase:initial"] == 0
    assert values["completed"] == 5
    assert response.context["outcomes"].overall.completed.value == 5
    assert listed(list_of(admin_client, "completed", phase="maintenance")) == family_names(
        courses, ["C1", "C2", "C3", "C4", "C5"]
    )


def test_period_filter_chooses_the_completed_courses(admin_client, courses):
    params = {"from": data.days_ago(50).isoformat(), "to": data.days_ago(5).isoformat()}
    response = admin_client.get(HOME, params)
    assert response.context["outcomes"].overall.completed.value == 3  # C1 (T-30), C4 (T-10), C5 (T-20)
    assert headline_values(response)["active"] == 7  # the caseload now does not depend on the period

    longer = admin_client.get(HOME, {"from": data.days_ago(500).isoformat(), "to": data.today().isoformat()})
    assert longer.context["outcomes"].overall.completed.value == 6  # and C6
    assert listed(list_of(admin_client, "remission", **params)) == set()


def test_the_default_period_is_the_last_12_months(admin_client):
    filters = admin_client.get(HOME).context["filters"]
    assert filters.date_to == data.today()
    assert (filters.date_to - filters.date_from).days in (364, 365)
    html = admin_client.get(HOME).content.decode()
    assert f'value="{filters.date_from.isoformat()}"' in html  # the period in force is in the date boxes


@pytest.mark.parametrize(
    ("params", "notice"),
    [
        ({"from": "2026-13-45"}, "“2026-13-45” is not a date"),
        ({"to": "yesterday"}, "“yesterday” is not a date"),
        ({"from": "2026-02-30"}, "“2026-02-30” is not a date"),
        ({"from": "2026-06-01", "to": "2026-01-01"}, "The period ended before it started"),
        ({"therapist": "not-a-uuid"}, "Unknown therapist “not-a-uuid”"),
        ({"therapist": "3f2504e0-4f89-41d3-9a0c-0305e82c3301"}, "Unknown therapist"),
        ({"area": "astrology"}, "Unknown problem area “astrology”"),
        ({"phase": "'; DROP TABLE x; --"}, "Unknown phase"),
        ({"page": "-3"}, "is not a page number"),
    ],
)
@pytest.mark.parametrize("url", [HOME, LIST])
def test_bad_filter_values_give_a_message_not_an_error(admin_client, courses, url, params, notice):
    response = admin_client.get(url, params)
    assert response.status_code == 200
    html = response.content.decode()
    assert escape(notice) in html
    assert 'data-testid="filter-notice"' in html


def test_a_bad_date_keeps_what_was_typed_and_says_so_at_the_field(admin_client):
    response = admin_client.get(HOME, {"from": "31/02/2026"})
    html = response.content.decode()
    assert 'value="31/02/2026"' in html
    assert escape(response.context["form"].errors["from"][0]) in html
    # The default period is used meanwhile.
    assert response.context["filters"].date_from == caseload.default_period(data.today())[0]


def test_a_therapist_of_another_clinic_is_an_unknown_filter(admin_client, courses, foreign_therapist):
    response = admin_client.get(HOME, {"therapist": str(foreign_therapist.public_id)})
    assert escape("Unknown therapist") in response.content.decode()
    assert response.context["filters"].therapist is None
    assert headline_values(response)["active"] == 7


def test_an_unknown_list_shows_the_whole_caseload_with_a_message(admin_client, courses):
    response = list_of(admin_client, "secret-figure")
    assert escape("Unknown list “secret-figure”") in response.content.decode()
    assert listed(response) == family_names(courses, data.EXPECTED_HEADLINE["caseload"])


# The lists ----------------------------------------------------------------------------------------------


def row_html(html: str, course) -> str:
    match = re.search(rf'data-patient="{course.patient.public_id}".*?</tr>', html, re.S)
    assert match, f"{course.patient} is not listed"
    return match.group(0)


def test_the_list_shows_structured_figures_of_each_course(admin_client, courses):
    html = list_of(admin_client, "risk").content.decode()
    a1 = row_html(html, courses["A1"])
    assert "Overdue" in a1 and "Scores reliably worse" in a1
    assert "Grief" in a1 and "5 of 12" in a1 and "Middle" in a1
    b1 = row_html(html, courses["B1"])
    assert "10 → 16" in b1


def test_lists_page_at_25_keeping_the_filters(admin_client, therapist):
    for i in range(30):
        data.make_course(therapist, f"Page{i:02d}", start_days_ago=30)
    first = list_of(admin_client, "overdue", area="")
    assert len(first.context["rows"]) == 25
    next_url = first.context["page_links"]["next"]
    assert parse_qs(urlsplit(next_url).query)["figure"] == ["overdue"]
    second = admin_client.get(LIST + next_url)
    assert len(second.context["rows"]) == 5
    assert listed(first).isdisjoint(listed(second))


def test_outcome_lists_page_too(admin_client, therapist):
    for i in range(27):
        data.make_course(
            therapist,
            f"Done{i:02d}",
            status=Course.Status.COMPLETED,
            end_days_ago=10,
            phq9=[(90, 20), (10, 3)],
        )
    first = list_of(admin_client, "remission")
    assert first.context["page"].paginator.count == 27
    second = admin_client.get(LIST + first.context["page_links"]["next"])
    assert len(first.context["rows"]) + len(second.context["rows"]) == 27
    assert listed(first).isdisjoint(listed(second))


def test_a_page_past_the_end_shows_the_last_with_a_message(admin_client, courses):
    response = list_of(admin_client, "overdue", page="9")
    assert "There is no page 9" in response.content.decode()
    assert listed(response) == family_names(courses, ["A1", "A4"])


# Privacy and scope -----------------------------------------------------------------------------------------

MARKERS = {
    "private_note": "PRIVATE-NOTE-MARKER",
    "risk_action_taken": "RISK-NARRATIVE-MARKER",
    "safety_plan": "SAFETY-PLAN-MARKER",
    "events_since_last": "EVENTS-MARKER",
    "task_text": "TASK-TEXT-MARKER",
}


@pytest.fixture
def marked(therapist):
    """A course whose every free-text field holds a marker string."""
    course = data.make_course(
        therapist,
        "Marked",
        formulation="FORMULATION-MARKER",
        end_reason="END-REASON-MARKER",
        gains="GAINS-MARKER",
        coping_plan="COPING-PLAN-MARKER",
        start_days_ago=30,
    )
    factories.TherapySessionFactory(course=course, number=1, date=data.days_ago(20), **MARKERS)
    factories.ProblemAreaFocusFactory(course=course, rationale="RATIONALE-MARKER")
    course.patient.presenting_concerns = "CONCERNS-MARKER"
    course.patient.medication = "MEDICATION-MARKER"
    course.patient.save()
    return course


def test_no_free_text_reaches_the_dashboard_or_lists(admin_client, marked):
    pages = [admin_client.get(HOME).content.decode()]
    for figure in ("active", "overdue", "unsigned", "caseload"):
        response = list_of(admin_client, figure)
        assert "Marked" in response.content.decode()
        pages.append(response.content.decode())
    for html in pages:
        assert "MARKER" not in html


def test_other_clinics_never_appear(client, courses, clinic_admin, other_clinic_admin, foreign_therapist):
    signed_in(client, clinic_admin)
    pages = [client.get(HOME).content.decode()]
    for figure in data.EXPECTED_HEADLINE:
        pages.append(list_of(client, figure).content.decode())
    for html in pages:
        assert "Outsider" not in html and "Stranger" not in html
        assert escape(foreign_therapist.display_name) not in html

    # And the other clinic's admin sees their own courses only.
    client.logout()
    signed_in(client, other_clinic_admin)
    response = client.get(HOME)
    values = headline_values(response)
    assert (values["active"], values["overdue"], values["item9"], values["completed"]) == (1, 1, 1, 1)
    assert listed(list_of(client, "caseload")) == {"Outsider", "Stranger"}


@pytest.mark.parametrize("url", [HOME, LIST, reverse("clinic-export")])
@pytest.mark.parametrize("persona", ["therapist", "other_therapist", "patient_user", "other_patient_user"])
def test_only_clinic_admins_may_open_the_caseload(client, request, url, persona):
    response = signed_in(client, request.getfixturevalue(persona)).get(url)
    assert response.status_code == 403


@pytest.mark.parametrize("url", [HOME, LIST, reverse("clinic-export")])
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("url", [HOME, LIST, reverse("clinic-export")])
def test_caseload_pages_are_get_only(admin_client, url):
    assert admin_client.post(url).status_code == 405


def test_the_dashboard_and_lists_write_list_audit_rows(admin_client, clinic_admin, courses):
    admin_client.get(HOME)
    dashboard = AuditEvent.objects.get(user=clinic_admin, action=AuditEvent.Action.LIST, path=HOME)
    assert dashboard.patient_public_id is None  # the dashboard shows counts, no patient

    list_of(admin_client, "overdue")
    rows = AuditEvent.objects.filter(user=clinic_admin, action=AuditEvent.Action.LIST, path=LIST)
    # One row per patient listed, so each patient's access history shows the list.
    assert set(rows.values_list("patient_public_id", flat=True)) == {
        courses[key].patient.public_id for key in ("A1", "A4")
    }
    assert all(event.clinic_id == clinic_admin.clinic_id for event in rows)


# Query counts -------------------------------------------------------------------------------------------


def grow(therapists, n: int) -> None:
    """`n` patients with a course each, a third of them completed in the period; sessions, scores, areas."""
    for i in range(n):
        therapist = therapists[i % len(therapists)]
        done = i % 3 == 0
        course = data.make_course(
            therapist,
            f"Grow{i:04d}",
            status=Course.Status.COMPLETED if done else Course.Status.ACTIVE,
            end_days_ago=10 if done else None,
            sessions=[(30, True), (10 + i % 6, i % 2 == 0)],
            phq9=[(30, 18), (16, 4 + i % 7)],
            areas=(list(ipt.ProblemArea.values)[i % 4],),
        )
        if i % 5 == 1:
            factories.MeasureResponseFactory(
                course=course, items=data.items("phq9", 10, item9=1), taken_on=data.days_ago(1)
            )


# Measured with django_assert_num_queries, in the order they run:
#   1. SELECT the session row                    2. SELECT the signed-in user
#   3. SELECT the clinic's therapists (filter choices and table rows)
#   4. SELECT the live counts per therapist (one grouped query of conditional COUNTs and a SUM)
#   5. SELECT the courses completed in the period with their baseline and final PHQ-9
#   6. SELECT the mean PHQ-9 per session number of those courses (AVG grouped by number)
#   7. INSERT the "list" audit row
#   8. SELECT the user's clinic, for the header in base.html
#   9. SELECT the emergency-access grants to flag (running or from the last week)
DASHBOARD_QUERIES = 9
# List pages: session, user, therapists, COUNT(*) for the paginator, the page of courses,
# audit INSERT, clinic for the header. Outcome lists: session, user, therapists, the completed
# courses' scores (picked in Python), the page of courses by primary key, audit INSERT, clinic.
LIST_QUERIES = 7


@pytest.mark.parametrize("n", [10, 200])
def test_dashboard_query_count_is_pinned(
    admin_client, therapist, other_therapist, foreign_therapist, django_assert_num_queries, n
):
    grow([therapist, other_therapist], n)
    grow([foreign_therapist], 3)
    with django_assert_num_queries(DASHBOARD_QUERIES):
        response = admin_client.get(HOME, {"area": "", "phase": ""})
    assert response.status_code == 200
    assert sum(row.cells["active"].value for row in response.context["therapist_rows"]) == n - len(
        range(0, n, 3)
    )


@pytest.mark.parametrize("figure", ["overdue", "active", "response"])
@pytest.mark.parametrize("n", [10, 200])
def test_list_query_count_is_pinned(
    admin_client, therapist, other_therapist, django_assert_num_queries, n, figure
):
    grow([therapist, other_therapist], n)
    with django_assert_num_queries(LIST_QUERIES):
        response = list_of(admin_client, figure)
    assert 0 < len(response.context["rows"]) <= caseload.PAGE_SIZE


def test_counts_of_a_large_caseload_agree_with_their_lists(admin_client, therapist, other_therapist):
    grow([therapist, other_therapist], 60)
    headline = admin_client.get(HOME).context["headline"]
    for key in ("active", "overdue", "risk", "item9", "unsigned", "completed"):
        assert list_of(admin_client, key).context["page"].paginator.count == headline.cells[key].value, key


def test_dates_in_the_default_period_are_inclusive(admin_client, therapist):
    start, end = caseload.default_period(data.today())
    for family, ended in (("Edge-start", start), ("Edge-end", end), ("Before", start - dt.timedelta(days=1))):
        course = data.make_course(therapist, family, status=Course.Status.COMPLETED, start_days_ago=500)
        Course.objects.filter(pk=course.pk).update(end_date=ended)
    assert listed(list_of(admin_client, "completed")) == {"Edge-start", "Edge-end"}


# PostgreSQL's JIT made the dashboard's aggregate query take minutes: settings turn it off.


@pytest.mark.parametrize(("flag", "options"), [(None, "-c jit=off"), ("false", None)])
def test_postgresql_connections_run_without_jit(flag, options):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="ipt_tracker.settings",
        DJANGO_DEBUG="true",
        DATABASE_URL="postgres://nobody@127.0.0.1:5432/not-connected",
    )
    if flag is not None:
        env["DJANGO_PG_JIT_OFF"] = flag
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.DATABASES['default'].get('OPTIONS', {}).get('options'))",
        ],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(options)


def test_mean_score_chart_geometry():
    from sessions_app import charts

    chart = charts.mean_score_chart(
        [
            charts.MeanScorePoint(2, 13.5, 3),
            charts.MeanScorePoint(0, 27.0, 4),
            charts.MeanScorePoint(1, 0.0, 1),
        ]
    )
    xs = [p.x for p in chart.points]
    ys = [p.y for p in chart.points]
    assert xs == [chart.plot_left, (chart.plot_left + chart.plot_right) / 2, chart.plot_right]
    assert ys == [chart.plot_top, chart.plot_bottom, (chart.plot_top + chart.plot_bottom) / 2]
    assert [label.text for label in chart.x_labels] == ["Intake", "1", "2"]
    assert chart.points[1].point.label == "Session 1: mean PHQ-9 0.0 over 1 course"
    alone = charts.mean_score_chart([charts.MeanScorePoint(5, 10.0, 2)])
    assert alone.points[0].x == (alone.plot_left + alone.plot_right) / 2
    assert charts.mean_score_chart([]).is_empty
