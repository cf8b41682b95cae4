"""ipt.next_actions: each rule on both sides of its threshold, as a pure function.

The dashboard builds a CourseState per patient from its annotations and shows
what this returns; these tests pin the rules themselves.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from sessions_app import ipt

TODAY = dt.date(2026, 11, 20)


def state(**changes) -> ipt.CourseState:
    """A course in a quiet middle phase that needs nothing: session 6 of 12 a week ago, all signed."""
    base = ipt.CourseState(
        planned_sessions=12,
        sessions_done=6,
        inventory_count=4,
        has_primary_focus=True,
        item9_unresolved=False,
        unsigned_count=0,
        ending_discussed=False,
        maintenance_agreed=False,
        last_session_on=TODAY - dt.timedelta(days=7),
        start_date=dt.date(2026, 9, 1),
        today=TODAY,
    )
    return dataclasses.replace(base, **changes)


def codes(course_state: ipt.CourseState) -> list[str]:
    return [action.code for action in ipt.next_actions(course_state)]


def action(course_state: ipt.CourseState, code: str) -> ipt.NextAction:
    return next(a for a in ipt.next_actions(course_state) if a.code == code)


def test_a_quiet_course_needs_nothing():
    assert ipt.next_actions(state()) == []


# Risk check --------------------------------------------------------------------------------------------


def test_unresolved_item9_asks_for_a_risk_check_first_and_as_danger():
    actions = ipt.next_actions(state(item9_unresolved=True, unsigned_count=1, last_session_on=None))
    assert actions[0].code == "risk_check"
    assert actions[0].level == "danger"
    assert "risk check" in actions[0].text


def test_no_risk_check_action_once_item9_is_resolved():
    assert "risk_check" not in codes(state(item9_unresolved=False))


# Overdue: 14 days without a session --------------------------------------------------------------------


def test_thirteen_days_since_the_last_session_is_not_overdue():
    assert "overdue" not in codes(state(last_session_on=TODAY - dt.timedelta(days=13)))


def test_fourteen_days_since_the_last_session_is_overdue_and_says_how_long():
    overdue = action(state(last_session_on=TODAY - dt.timedelta(days=14)), "overdue")
    assert overdue.text == "No session in 14 days"
    assert overdue.level == "warning"


@pytest.mark.parametrize(("days", "due"), [(13, False), (14, True)])
def test_a_course_without_sessions_counts_from_its_start_date(days, due):
    course = state(sessions_done=0, last_session_on=None, start_date=TODAY - dt.timedelta(days=days))
    assert ("overdue" in codes(course)) is due


def test_a_course_starting_in_the_future_is_not_overdue():
    assert "overdue" not in codes(
        state(sessions_done=0, last_session_on=None, start_date=TODAY + dt.timedelta(3))
    )


# Unsigned notes ----------------------------------------------------------------------------------------


def test_no_unsigned_action_when_every_note_is_signed():
    assert "unsigned" not in codes(state(unsigned_count=0))


def test_one_unsigned_note_is_singular():
    assert action(state(unsigned_count=1), "unsigned").text == "1 unsigned note"


def test_several_unsigned_notes_are_plural():
    assert action(state(unsigned_count=3), "unsigned").text == "3 unsigned notes"


# Past the planned sessions: renegotiate, unless maintenance was agreed ---------------------------------


def test_sessions_beyond_the_plan_ask_to_renegotiate_the_contract():
    renegotiate = action(state(sessions_done=13, last_session_on=TODAY), "renegotiate")
    assert "renegotiate the contract" in renegotiate.text


def test_sessions_beyond_the_plan_with_maintenance_agreed_ask_for_nothing():
    assert codes(state(sessions_done=13, maintenance_agreed=True, ending_discussed=True)) == []


def test_the_last_planned_session_is_not_yet_beyond_the_plan():
    assert "renegotiate" not in codes(state(sessions_done=12, ending_discussed=True))


# Complete the course -----------------------------------------------------------------------------------


def test_all_planned_sessions_done_asks_to_complete_the_course():
    assert codes(state(sessions_done=12, ending_discussed=True)) == ["complete"]


def test_one_session_short_of_the_plan_does_not_ask_to_complete():
    assert "complete" not in codes(state(sessions_done=11, ending_discussed=True))


def test_beyond_the_plan_asks_to_renegotiate_not_to_complete():
    assert "complete" not in codes(state(sessions_done=13))


# Interpersonal inventory -------------------------------------------------------------------------------


def test_inventory_not_started_after_the_first_session():
    assert "inventory" in codes(state(sessions_done=1, inventory_count=0, has_primary_focus=False))


def test_no_inventory_action_before_the_first_session():
    assert "inventory" not in codes(state(sessions_done=0, inventory_count=0, last_session_on=None))


def test_no_inventory_action_once_one_person_is_recorded():
    assert "inventory" not in codes(state(sessions_done=1, inventory_count=1, has_primary_focus=False))


# Problem area by session 3 -----------------------------------------------------------------------------


def test_no_problem_area_after_session_2_is_not_yet_flagged():
    assert "problem_area" not in codes(state(sessions_done=2, has_primary_focus=False))


def test_no_problem_area_by_session_3_is_flagged():
    flagged = action(state(sessions_done=3, has_primary_focus=False), "problem_area")
    assert flagged.text == f"No problem area chosen by session {ipt.INITIAL_PHASE_SESSIONS}"


def test_a_chosen_primary_area_clears_the_problem_area_action():
    assert "problem_area" not in codes(state(sessions_done=3, has_primary_focus=True))


# Termination: raise it with 4 sessions left ------------------------------------------------------------


def test_five_sessions_left_does_not_prompt_termination_yet():
    assert "termination" not in codes(state(planned_sessions=12, sessions_done=7))


def test_four_sessions_left_prompts_termination():
    prompt = action(state(planned_sessions=12, sessions_done=8), "termination")
    assert prompt.text == "4 sessions left: raise termination"


def test_one_session_left_is_singular():
    assert action(state(planned_sessions=12, sessions_done=11), "termination").text == (
        "1 session left: raise termination"
    )


def test_no_termination_prompt_once_the_ending_was_discussed():
    assert "termination" not in codes(state(planned_sessions=12, sessions_done=8, ending_discussed=True))


def test_no_termination_prompt_when_no_planned_session_is_left():
    assert "termination" not in codes(state(planned_sessions=12, sessions_done=12))


def test_termination_threshold_follows_a_longer_contract():
    assert "termination" not in codes(state(planned_sessions=16, sessions_done=11))
    assert "termination" in codes(state(planned_sessions=16, sessions_done=12))


# Order -------------------------------------------------------------------------------------------------


def test_actions_come_most_urgent_first():
    everything = state(
        item9_unresolved=True,
        last_session_on=TODAY - dt.timedelta(days=20),
        unsigned_count=2,
        sessions_done=9,
        inventory_count=0,
        has_primary_focus=False,
    )
    assert codes(everything) == [
        "risk_check",
        "overdue",
        "unsigned",
        "inventory",
        "problem_area",
        "termination",
    ]
