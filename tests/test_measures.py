"""PHQ-9 and GAD-7 scoring, outcome rules and wording (sessions_app.measures)."""

from __future__ import annotations

import pytest

from sessions_app import measures
from sessions_app.measures import Band, Instrument

PHQ9 = Instrument.PHQ9
GAD7 = Instrument.GAD7
N_ITEMS = {PHQ9: 9, GAD7: 7}


def items_summing_to(total: int, n_items: int, *, last: int | None = None) -> list[int]:
    """Answers for n_items questions that add up to total, filled from the first item.

    If `last` is given, the last item is fixed to that value and the rest make up the total.
    """
    fill = n_items if last is None else n_items - 1
    remaining = total if last is None else total - last
    assert 0 <= remaining <= 3 * fill, "impossible total for the helper"
    items = []
    for _ in range(fill):
        value = min(3, remaining)
        items.append(value)
        remaining -= value
    if last is not None:
        items.append(last)
    assert sum(items) == total
    assert len(items) == n_items
    return items


# --- score(): bands --------------------------------------------------------------------------

PHQ9_BANDS = [
    (0, Band.MINIMAL),
    (4, Band.MINIMAL),
    (5, Band.MILD),
    (9, Band.MILD),
    (10, Band.MODERATE),
    (14, Band.MODERATE),
    (15, Band.MODERATELY_SEVERE),
    (19, Band.MODERATELY_SEVERE),
    (20, Band.SEVERE),
    (27, Band.SEVERE),
]

GAD7_BANDS = [
    (0, Band.MINIMAL),
    (4, Band.MINIMAL),
    (5, Band.MILD),
    (9, Band.MILD),
    (10, Band.MODERATE),
    (14, Band.MODERATE),
    (15, Band.SEVERE),
    (21, Band.SEVERE),
]


@pytest.mark.parametrize(("total", "band"), PHQ9_BANDS)
def test_phq9_total_falls_in_its_band(total, band):
    result = measures.score(PHQ9, items_summing_to(total, 9))
    assert result.total == total
    assert result.band == band.value


@pytest.mark.parametrize(("total", "band"), GAD7_BANDS)
def test_gad7_total_falls_in_its_band(total, band):
    result = measures.score(GAD7, items_summing_to(total, 7))
    assert result.total == total
    assert result.band == band.value


def test_phq9_total_of_10_is_moderate():
    assert measures.score(PHQ9, [2, 2, 2, 2, 2, 0, 0, 0, 0]).band == "moderate"


def test_band_is_returned_as_a_plain_code_string():
    band = measures.score(PHQ9, [0] * 9).band
    assert band == "minimal"
    assert type(band) is str


@pytest.mark.parametrize("total", range(0, 22))
def test_gad7_never_returns_moderately_severe(total):
    assert measures.score(GAD7, items_summing_to(total, 7)).band != Band.MODERATELY_SEVERE


@pytest.mark.parametrize(
    ("instrument", "items", "total"),
    [
        (PHQ9, [0, 1, 2, 3, 0, 1, 2, 3, 0], 12),
        (PHQ9, [3] * 9, 27),
        (GAD7, [1, 0, 3, 2, 1, 0, 2], 9),
        (GAD7, [3] * 7, 21),
    ],
)
def test_total_is_the_sum_of_the_items(instrument, items, total):
    assert measures.score(instrument, items).total == total


def test_score_accepts_the_instrument_enum_and_its_plain_code():
    items = [1] * 9
    assert measures.score("phq9", items) == measures.score(PHQ9, items)


# --- score(): item 9 ------------------------------------------------------------------------


def test_phq9_item9_of_0_with_a_high_total_is_not_positive():
    result = measures.score(PHQ9, [3, 3, 3, 3, 3, 3, 3, 3, 0])
    assert result.total == 24
    assert result.band == Band.SEVERE
    assert result.item9_positive is False


def test_phq9_item9_of_1_alone_is_positive_even_when_minimal():
    result = measures.score(PHQ9, [0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert result.total == 1
    assert result.band == Band.MINIMAL
    assert result.item9_positive is True


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_phq9_any_nonzero_item9_is_positive(item9):
    assert measures.score(PHQ9, [0] * 8 + [item9]).item9_positive is True


def test_phq9_item9_of_3_is_positive():
    assert measures.score(PHQ9, [1, 1, 1, 1, 1, 1, 1, 1, 3]).item9_positive is True


def test_phq9_item9_flag_looks_at_item9_only_not_item8():
    assert measures.score(PHQ9, [0, 0, 0, 0, 0, 0, 0, 3, 0]).item9_positive is False


@pytest.mark.parametrize("items", [[0, 0, 0, 0, 0, 0, 3], [3] * 7, [0, 0, 0, 0, 0, 0, 1]])
def test_gad7_is_never_item9_positive_even_when_its_last_item_is_high(items):
    assert measures.score(GAD7, items).item9_positive is False


# --- score(): errors -----------------------------------------------------------------------


@pytest.mark.parametrize("instrument", ["phq8", "PHQ9", "", "gad-7", "PHQ-9"])
def test_score_rejects_an_unknown_instrument_naming_it(instrument):
    with pytest.raises(ValueError, match=rf"Unknown instrument '{instrument}'"):
        measures.score(instrument, [0] * 9)


@pytest.mark.parametrize(
    ("instrument", "count", "message"),
    [
        (PHQ9, 8, r"PHQ-9 has 9 items, got 8"),
        (PHQ9, 10, r"PHQ-9 has 9 items, got 10"),
        (PHQ9, 0, r"PHQ-9 has 9 items, got 0"),
        (PHQ9, 7, r"PHQ-9 has 9 items, got 7"),
        (GAD7, 6, r"GAD-7 has 7 items, got 6"),
        (GAD7, 8, r"GAD-7 has 7 items, got 8"),
        (GAD7, 0, r"GAD-7 has 7 items, got 0"),
        (GAD7, 9, r"GAD-7 has 7 items, got 9"),
    ],
)
def test_score_rejects_the_wrong_number_of_items(instrument, count, message):
    with pytest.raises(ValueError, match=message):
        measures.score(instrument, [0] * count)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, r"PHQ-9 item 3 must be 0–3, got -1"),
        (4, r"PHQ-9 item 3 must be 0–3, got 4"),
        (1.5, r"PHQ-9 item 3 must be a whole number 0–3, got 1\.5"),
        (2.0, r"PHQ-9 item 3 must be a whole number 0–3, got 2\.0"),
        ("2", r"PHQ-9 item 3 must be a whole number 0–3, got '2'"),
        (None, r"PHQ-9 item 3 must be a whole number 0–3, got None"),
        (True, r"PHQ-9 item 3 must be a whole number 0–3, got True"),
        (False, r"PHQ-9 item 3 must be a whole number 0–3, got False"),
    ],
)
def test_phq9_rejects_a_bad_answer_naming_the_item(value, message):
    items = [0] * 9
    items[2] = value
    with pytest.raises(ValueError, match=message):
        measures.score(PHQ9, items)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, r"GAD-7 item 7 must be 0–3, got -1"),
        (4, r"GAD-7 item 7 must be 0–3, got 4"),
        (1.5, r"GAD-7 item 7 must be a whole number 0–3, got 1\.5"),
        ("2", r"GAD-7 item 7 must be a whole number 0–3, got '2'"),
        (None, r"GAD-7 item 7 must be a whole number 0–3, got None"),
        (True, r"GAD-7 item 7 must be a whole number 0–3, got True"),
    ],
)
def test_gad7_rejects_a_bad_answer_naming_the_item(value, message):
    items = [0] * 6 + [value]
    with pytest.raises(ValueError, match=message):
        measures.score(GAD7, items)


def test_score_names_the_first_bad_item_when_several_are_bad():
    with pytest.raises(ValueError, match=r"item 2 "):
        measures.score(PHQ9, [0, 5, 0, 0, -1, 0, 0, 0, 0])


@pytest.mark.parametrize(("total", "band"), PHQ9_BANDS)
def test_band_for_phq9_agrees_with_score(total, band):
    assert measures.band_for(PHQ9, total) == band.value


@pytest.mark.parametrize(("instrument", "total"), [(PHQ9, -1), (PHQ9, 28), (GAD7, -1), (GAD7, 22)])
def test_band_for_rejects_a_total_out_of_range(instrument, total):
    with pytest.raises(ValueError, match=rf"total must be 0–{N_ITEMS[instrument] * 3}, got {total}"):
        measures.band_for(instrument, total)


# --- outcome() -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "baseline", "latest", "expected"),
    [
        (PHQ9, 20, 10, True),
        (PHQ9, 20, 11, False),
        (PHQ9, 20, 0, True),
        (PHQ9, 21, 10, True),  # fall 11 >= 10.5
        (PHQ9, 21, 11, False),  # fall 10 < 10.5
        (PHQ9, 0, 0, False),
        (PHQ9, 1, 0, True),
        (GAD7, 20, 10, True),
        (GAD7, 20, 11, False),
        (GAD7, 0, 0, False),
    ],
)
def test_response_means_a_fall_of_at_least_half_the_baseline(instrument, baseline, latest, expected):
    assert measures.outcome(instrument, baseline, latest).response is expected


@pytest.mark.parametrize(
    ("instrument", "latest", "expected"),
    [(PHQ9, 4, True), (PHQ9, 5, False), (PHQ9, 0, True), (GAD7, 4, True), (GAD7, 5, False), (GAD7, 0, True)],
)
def test_remission_means_a_latest_score_below_5(instrument, latest, expected):
    assert measures.outcome(instrument, 20, latest).remission is expected


@pytest.mark.parametrize(
    ("instrument", "baseline", "latest", "expected"),
    [
        (PHQ9, 20, 14, True),  # fall 6
        (PHQ9, 20, 15, False),  # fall 5
        (PHQ9, 6, 0, True),
        (GAD7, 15, 11, True),  # fall 4
        (GAD7, 15, 12, False),  # fall 3
        (GAD7, 4, 0, True),
    ],
)
def test_reliable_improvement_needs_a_fall_of_the_reliable_change_margin(
    instrument, baseline, latest, expected
):
    assert measures.outcome(instrument, baseline, latest).reliable_improvement is expected


@pytest.mark.parametrize(
    ("instrument", "baseline", "latest", "expected"),
    [
        (PHQ9, 10, 16, True),  # rise 6
        (PHQ9, 10, 15, False),  # rise 5
        (PHQ9, 21, 27, True),
        (GAD7, 10, 14, True),  # rise 4
        (GAD7, 10, 13, False),  # rise 3
        (GAD7, 17, 21, True),
    ],
)
def test_reliable_deterioration_needs_a_rise_of_the_reliable_change_margin(
    instrument, baseline, latest, expected
):
    assert measures.outcome(instrument, baseline, latest).reliable_deterioration is expected


@pytest.mark.parametrize("instrument", [PHQ9, GAD7])
def test_no_change_is_neither_reliable_improvement_nor_deterioration(instrument):
    result = measures.outcome(instrument, 12, 12)
    assert result.reliable_improvement is False
    assert result.reliable_deterioration is False


def test_a_fall_is_never_reliable_deterioration():
    result = measures.outcome(PHQ9, 27, 0)
    assert result.reliable_deterioration is False
    assert result.reliable_improvement is True


def test_a_rise_is_never_reliable_improvement_or_response():
    result = measures.outcome(PHQ9, 0, 27)
    assert result.reliable_improvement is False
    assert result.response is False
    assert result.reliable_deterioration is True


@pytest.mark.parametrize(
    ("instrument", "baseline", "latest", "expected"),
    [
        (PHQ9, 10, 9, True),
        (PHQ9, 9, 4, False),  # never a case
        (PHQ9, 10, 10, False),  # still a case
        (PHQ9, 27, 0, True),
        (GAD7, 8, 7, True),
        (GAD7, 7, 0, False),  # never a case
        (GAD7, 12, 8, False),  # still a case
        (GAD7, 21, 0, True),
    ],
)
def test_recovery_means_moving_from_caseness_to_below_it(instrument, baseline, latest, expected):
    assert measures.outcome(instrument, baseline, latest).recovery is expected


def test_outcome_returns_every_flag_together():
    assert measures.outcome(PHQ9, 20, 4) == measures.Outcome(
        response=True,
        remission=True,
        reliable_improvement=True,
        reliable_deterioration=False,
        recovery=True,
    )


@pytest.mark.parametrize(
    ("instrument", "baseline", "latest", "message"),
    [
        (PHQ9, -1, 5, r"PHQ-9 baseline must be 0–27, got -1"),
        (PHQ9, 28, 5, r"PHQ-9 baseline must be 0–27, got 28"),
        (PHQ9, 5, -1, r"PHQ-9 latest must be 0–27, got -1"),
        (PHQ9, 5, 28, r"PHQ-9 latest must be 0–27, got 28"),
        (GAD7, -1, 5, r"GAD-7 baseline must be 0–21, got -1"),
        (GAD7, 22, 5, r"GAD-7 baseline must be 0–21, got 22"),
        (GAD7, 5, -1, r"GAD-7 latest must be 0–21, got -1"),
        (GAD7, 5, 22, r"GAD-7 latest must be 0–21, got 22"),
    ],
)
def test_outcome_rejects_a_score_out_of_range(instrument, baseline, latest, message):
    with pytest.raises(ValueError, match=message):
        measures.outcome(instrument, baseline, latest)


@pytest.mark.parametrize(("baseline", "latest"), [(27, 27), (0, 0), (0, 27)])
def test_outcome_accepts_the_extremes_of_the_phq9_range(baseline, latest):
    measures.outcome(PHQ9, baseline, latest)


def test_outcome_accepts_a_gad7_total_of_21_but_not_a_phq9_only_total():
    measures.outcome(GAD7, 21, 21)
    with pytest.raises(ValueError, match="GAD-7"):
        measures.outcome(GAD7, 22, 21)


def test_outcome_rejects_an_unknown_instrument():
    with pytest.raises(ValueError, match=r"Unknown instrument 'phq8'"):
        measures.outcome("phq8", 10, 5)


@pytest.mark.parametrize(
    ("instrument", "total", "expected"),
    [(PHQ9, 9, False), (PHQ9, 10, True), (GAD7, 7, False), (GAD7, 8, True)],
)
def test_is_case_uses_the_caseness_threshold(instrument, total, expected):
    assert measures.is_case(instrument, total) is expected


# --- wording -------------------------------------------------------------------------------


def test_phq9_has_exactly_9_items_and_gad7_exactly_7():
    assert len(measures.ITEMS[PHQ9]) == 9
    assert len(measures.ITEMS[GAD7]) == 7
    assert set(measures.ITEMS) == {PHQ9, GAD7}


def test_phq9_item1_wording():
    assert measures.ITEMS[PHQ9][0] == "Little interest or pleasure in doing things"


def test_phq9_item9_wording_is_exact():
    assert measures.ITEMS[PHQ9][8] == (
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    assert measures.ITEMS[PHQ9][measures.ITEM9_INDEX] == measures.ITEMS[PHQ9][8]


def test_gad7_item1_wording():
    assert measures.ITEMS[GAD7][0] == "Feeling nervous, anxious, or on edge"


def test_answer_options_and_their_scores():
    assert measures.ANSWERS == (
        (0, "Not at all"),
        (1, "Several days"),
        (2, "More than half the days"),
        (3, "Nearly every day"),
    )


def test_maximum_totals_are_27_and_21():
    assert measures.MAX_TOTAL == {PHQ9: 27, GAD7: 21}


@pytest.mark.parametrize(
    ("code", "label"),
    [("minimal", "Minimal"), ("moderately_severe", "Moderately severe"), ("severe", "Severe")],
)
def test_band_label(code, label):
    assert measures.band_label(code) == label
