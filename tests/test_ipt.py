"""The IPT clinical reference: phases, problem areas and their guides (sessions_app.ipt)."""

from __future__ import annotations

import pytest

from sessions_app import ipt
from sessions_app.ipt import Phase, ProblemArea

IN, MI, TE, MA = Phase.INITIAL, Phase.MIDDLE, Phase.TERMINATION, Phase.MAINTENANCE

# Sessions 1..N+2 written out by hand, so the test does not restate the implementation.
EXPECTED_PHASES = {
    12: [IN, IN, IN, MI, MI, MI, MI, MI, MI, TE, TE, TE, MA, MA],
    13: [IN, IN, IN, MI, MI, MI, MI, MI, MI, MI, TE, TE, TE, MA, MA],
    14: [IN, IN, IN, MI, MI, MI, MI, MI, MI, MI, MI, TE, TE, TE, MA, MA],
    15: [IN, IN, IN, MI, MI, MI, MI, MI, MI, MI, MI, MI, TE, TE, TE, MA, MA],
    16: [IN, IN, IN, MI, MI, MI, MI, MI, MI, MI, MI, MI, MI, TE, TE, TE, MA, MA],
}


def test_the_explicit_tables_cover_sessions_1_to_n_plus_2():
    for planned, phases in EXPECTED_PHASES.items():
        assert len(phases) == planned + 2


@pytest.mark.parametrize(
    ("planned", "number", "phase"),
    [
        (planned, number, phase)
        for planned, phases in EXPECTED_PHASES.items()
        for number, phase in enumerate(phases, start=1)
    ],
)
def test_default_phase_matches_the_written_out_course(planned, number, phase):
    assert ipt.default_phase(number, planned) == phase


def _rule(number: int, planned: int) -> Phase:
    if number > planned:
        return MA
    if number in (1, 2, 3):
        return IN
    if planned - 2 <= number <= planned:
        return TE
    return MI


@pytest.mark.parametrize(
    ("planned", "number"),
    [(planned, number) for planned in range(12, 17) for number in range(1, planned + 3)],
)
def test_default_phase_follows_the_ipt_rule(planned, number):
    assert ipt.default_phase(number, planned) == _rule(number, planned)


@pytest.mark.parametrize("planned", range(12, 17))
def test_every_course_has_three_initial_and_three_termination_sessions(planned):
    phases = [ipt.default_phase(n, planned) for n in range(1, planned + 1)]
    assert phases.count(IN) == 3
    assert phases.count(TE) == 3
    assert phases.count(MI) == planned - 6
    assert MA not in phases


@pytest.mark.parametrize("planned", range(12, 17))
def test_sessions_after_the_planned_course_are_maintenance(planned):
    assert ipt.default_phase(planned + 1, planned) == MA
    assert ipt.default_phase(planned + 10, planned) == MA


def test_phase_12_of_12_is_termination_and_13_is_maintenance():
    assert ipt.default_phase(12, 12) == Phase.TERMINATION
    assert ipt.default_phase(13, 12) == Phase.MAINTENANCE


def test_phase_4_of_12_is_middle_and_9_of_12_is_middle():
    assert ipt.default_phase(4, 12) == Phase.MIDDLE
    assert ipt.default_phase(9, 12) == Phase.MIDDLE
    assert ipt.default_phase(10, 12) == Phase.TERMINATION


@pytest.mark.parametrize("number", [0, -1, -12])
def test_default_phase_rejects_a_session_number_below_1(number):
    with pytest.raises(ValueError, match=rf"Session numbers start at 1, got {number}"):
        ipt.default_phase(number, 12)


def test_planned_session_limits_are_12_to_16():
    assert ipt.MIN_PLANNED_SESSIONS == 12
    assert ipt.MAX_PLANNED_SESSIONS == 16


# --- focus_warnings ------------------------------------------------------------------------


@pytest.mark.parametrize("area", list(ProblemArea))
def test_one_problem_area_gives_no_warning(area):
    assert ipt.focus_warnings([area]) == []


def test_no_problem_area_gives_no_warning():
    assert ipt.focus_warnings([]) == []


@pytest.mark.parametrize(
    "areas",
    [
        [ProblemArea.GRIEF, ProblemArea.ROLE_DISPUTE],
        [ProblemArea.ROLE_DISPUTE, ProblemArea.ROLE_TRANSITION],
        [ProblemArea.GRIEF, ProblemArea.ROLE_TRANSITION],
    ],
)
def test_two_ordinary_areas_give_no_warning(areas):
    assert ipt.focus_warnings(areas) == []


def test_three_areas_give_one_warning_to_narrow_the_focus():
    warnings = ipt.focus_warnings([ProblemArea.GRIEF, ProblemArea.ROLE_DISPUTE, ProblemArea.ROLE_TRANSITION])
    assert len(warnings) == 1
    assert "two at most" in warnings[0]


@pytest.mark.parametrize("other", [ProblemArea.GRIEF, ProblemArea.ROLE_DISPUTE, ProblemArea.ROLE_TRANSITION])
def test_interpersonal_deficits_beside_another_area_gives_one_warning(other):
    warnings = ipt.focus_warnings([other, ProblemArea.INTERPERSONAL_DEFICITS])
    assert len(warnings) == 1
    assert "Interpersonal deficits" in warnings[0]


def test_interpersonal_deficits_alone_gives_no_warning():
    assert ipt.focus_warnings([ProblemArea.INTERPERSONAL_DEFICITS]) == []


def test_interpersonal_deficits_works_with_plain_code_strings():
    assert len(ipt.focus_warnings(["grief", "interpersonal_deficits"])) == 1
    assert ipt.focus_warnings(["interpersonal_deficits"]) == []


def test_three_areas_including_deficits_give_both_warnings():
    warnings = ipt.focus_warnings(
        [ProblemArea.GRIEF, ProblemArea.ROLE_DISPUTE, ProblemArea.INTERPERSONAL_DEFICITS]
    )
    assert len(warnings) == 2


# --- area guides, phase text, strategies ---------------------------------------------------


def test_every_problem_area_has_a_guide_and_nothing_else_does():
    assert set(ipt.AREA_GUIDES) == set(ProblemArea.values)


@pytest.mark.parametrize("area", list(ProblemArea))
def test_area_guide_has_goals_strategies_and_a_patient_explanation(area):
    guide = ipt.AREA_GUIDES[area]
    assert guide.area == area
    assert guide.goals
    assert all(goal.strip() for goal in guide.goals)
    assert guide.strategies
    for code, label in guide.strategies:
        assert code.strip()
        assert label.strip()
    assert guide.patient_explanation.strip()
    assert guide.when.strip()


def test_strategy_codes_are_unique_across_all_areas():
    codes = [code for guide in ipt.AREA_GUIDES.values() for code, _ in guide.strategies]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("phase", list(Phase))
def test_every_phase_has_therapist_tasks_and_patient_text(phase):
    assert ipt.PHASE_TASKS[phase]
    assert all(task.strip() for task in ipt.PHASE_TASKS[phase])
    what, next_ = ipt.PHASE_FOR_PATIENTS[phase]
    assert what.strip()
    assert next_.strip()


def test_phase_tables_have_no_extra_phases():
    assert set(ipt.PHASE_TASKS) == set(Phase.values)
    assert set(ipt.PHASE_FOR_PATIENTS) == set(Phase.values)


def test_every_dispute_stage_has_guidance():
    assert set(ipt.DISPUTE_STAGE_GUIDANCE) == set(ipt.DisputeStage.values)


@pytest.mark.parametrize("area", list(ProblemArea))
def test_strategy_choices_of_one_area_are_its_strategies(area):
    assert ipt.strategy_choices([area]) == list(ipt.AREA_GUIDES[area].strategies)


def test_strategy_choices_of_two_areas_are_exactly_theirs_in_order():
    choices = ipt.strategy_choices([ProblemArea.ROLE_DISPUTE, ProblemArea.GRIEF])
    expected = list(ipt.AREA_GUIDES[ProblemArea.ROLE_DISPUTE].strategies) + list(
        ipt.AREA_GUIDES[ProblemArea.GRIEF].strategies
    )
    assert choices == expected
    codes = {code for code, _ in choices}
    assert "grief_express_feelings" in codes
    assert "dispute_stage_review" in codes
    assert not any(code.startswith(("transition_", "deficits_")) for code in codes)


def test_strategy_choices_of_no_areas_is_empty():
    assert ipt.strategy_choices([]) == []


def test_strategy_label_of_a_known_code():
    assert ipt.strategy_label("grief_events_of_death") == "Review events around the death"
    assert ipt.strategy_label("deficits_social_skills") == "Practise social skills"


def test_strategy_label_of_an_unknown_code_is_the_code():
    assert ipt.strategy_label("made_up_strategy") == "made_up_strategy"
    assert ipt.strategy_label("") == ""
