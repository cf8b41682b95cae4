"""PHQ-9 and GAD-7: exact wording, scoring, bands and outcome rules.

Wording and cut-points: shared/reference/ipt-domain.md §5 (Kroenke 2001;
Spitzer 2006; HL7 US Core). Outcome definitions follow NHS Talking Therapies
and are the module-level constants below, so a clinic can see and change them
in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class Instrument(models.TextChoices):
    PHQ9 = "phq9", "PHQ-9"
    GAD7 = "gad7", "GAD-7"


class Band(models.TextChoices):
    MINIMAL = "minimal", "Minimal"
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    MODERATELY_SEVERE = "moderately_severe", "Moderately severe"
    SEVERE = "severe", "Severe"


STEM = "Over the last 2 weeks, how often have you been bothered by any of the following problems?"

ANSWERS: tuple[tuple[int, str], ...] = (
    (0, "Not at all"),
    (1, "Several days"),
    (2, "More than half the days"),
    (3, "Nearly every day"),
)

DIFFICULTY_QUESTION = (
    "If you checked off any problems, how difficult have these problems made it for you "
    "to do your work, take care of things at home, or get along with other people?"
)
DIFFICULTY_ANSWERS: tuple[tuple[int, str], ...] = (
    (0, "Not difficult at all"),
    (1, "Somewhat difficult"),
    (2, "Very difficult"),
    (3, "Extremely difficult"),
)

ITEMS: dict[str, tuple[str, ...]] = {
    Instrument.PHQ9: (
        "Little interest or pleasure in doing things",
        "Feeling down, depressed, or hopeless",
        "Trouble falling or staying asleep, or sleeping too much",
        "Feeling tired or having little energy",
        "Poor appetite or overeating",
        "Feeling bad about yourself — or that you are a failure or have let yourself or your family down",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "Moving or speaking so slowly that other people could have noticed? Or the opposite "
        "— being so fidgety or restless that you have been moving around a lot more than usual",
        "Thoughts that you would be better off dead or of hurting yourself in some way",
    ),
    Instrument.GAD7: (
        "Feeling nervous, anxious, or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it is hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid, as if something awful might happen",
    ),
}

MAX_ITEM = 3
MAX_TOTAL: dict[str, int] = {name: MAX_ITEM * len(items) for name, items in ITEMS.items()}

# Lowest total of each band, highest band first.
BANDS: dict[str, tuple[tuple[int, Band], ...]] = {
    Instrument.PHQ9: (
        (20, Band.SEVERE),
        (15, Band.MODERATELY_SEVERE),
        (10, Band.MODERATE),
        (5, Band.MILD),
        (0, Band.MINIMAL),
    ),
    Instrument.GAD7: (
        (15, Band.SEVERE),
        (10, Band.MODERATE),
        (5, Band.MILD),
        (0, Band.MINIMAL),
    ),
}

# Outcome definitions (NHS Talking Therapies; DESIGN.md §4).
RESPONSE_FALL_FRACTION = 0.5
REMISSION_BELOW: dict[str, int] = {Instrument.PHQ9: 5, Instrument.GAD7: 5}
RELIABLE_CHANGE: dict[str, int] = {Instrument.PHQ9: 6, Instrument.GAD7: 4}
CASENESS_AT: dict[str, int] = {Instrument.PHQ9: 10, Instrument.GAD7: 8}

# The PHQ-9 item about self-harm (1-based number 9).
ITEM9_INDEX = 8


@dataclass(frozen=True)
class Score:
    total: int
    band: str
    item9_positive: bool


@dataclass(frozen=True)
class Outcome:
    response: bool
    remission: bool
    reliable_improvement: bool
    reliable_deterioration: bool
    recovery: bool


def _check_instrument(instrument: str) -> None:
    if instrument not in ITEMS:
        known = ", ".join(sorted(ITEMS))
        raise ValueError(f"Unknown instrument {instrument!r}; expected one of: {known}.")


def band_for(instrument: str, total: int) -> str:
    """The severity band of a total score."""
    _check_instrument(instrument)
    if not 0 <= total <= MAX_TOTAL[instrument]:
        raise ValueError(
            f"{Instrument(instrument).label} total must be 0–{MAX_TOTAL[instrument]}, got {total}."
        )
    for lowest, band in BANDS[instrument]:
        if total >= lowest:
            return band.value
    raise AssertionError("unreachable: the lowest band starts at 0")


def score(instrument: str, items: list[int]) -> Score:
    """Score a completed questionnaire.

    Raises ValueError naming the problem for an unknown instrument, a wrong
    number of items, or an answer outside 0–3.
    """
    _check_instrument(instrument)
    label = Instrument(instrument).label
    expected = len(ITEMS[instrument])
    if len(items) != expected:
        raise ValueError(f"{label} has {expected} items, got {len(items)}.")
    for number, value in enumerate(items, start=1):
        # bool is an int subclass; a True answer is a bug, not a 1.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{label} item {number} must be a whole number 0–3, got {value!r}.")
        if not 0 <= value <= MAX_ITEM:
            raise ValueError(f"{label} item {number} must be 0–3, got {value}.")
    total = sum(items)
    item9_positive = instrument == Instrument.PHQ9 and items[ITEM9_INDEX] > 0
    return Score(total=total, band=band_for(instrument, total), item9_positive=item9_positive)


def outcome(instrument: str, baseline: int, latest: int) -> Outcome:
    """Classify the change between a baseline and a latest total."""
    _check_instrument(instrument)
    for name, value in (("baseline", baseline), ("latest", latest)):
        if not 0 <= value <= MAX_TOTAL[instrument]:
            raise ValueError(
                f"{Instrument(instrument).label} {name} must be 0–{MAX_TOTAL[instrument]}, got {value}."
            )
    fall = baseline - latest
    margin = RELIABLE_CHANGE[instrument]
    caseness = CASENESS_AT[instrument]
    return Outcome(
        response=baseline > 0 and fall >= RESPONSE_FALL_FRACTION * baseline,
        remission=latest < REMISSION_BELOW[instrument],
        reliable_improvement=fall >= margin,
        reliable_deterioration=-fall >= margin,
        recovery=baseline >= caseness and latest < caseness,
    )


def is_case(instrument: str, total: int) -> bool:
    """Whether a total is at or above the clinical caseness threshold."""
    _check_instrument(instrument)
    return total >= CASENESS_AT[instrument]


def band_label(band: str) -> str:
    """Human label of a band code."""
    return Band(band).label


# --- The patient portal ------------------------------------------------------------
# Plain words about a patient's own totals. Never item answers: the portal shows
# totals and bands only, and never anything about item 9.

ABOUT_FOR_PATIENTS: dict[str, str] = {
    Instrument.PHQ9: (
        "The PHQ-9 asks about nine common signs of depression over the last two weeks. "
        "Scores go from 0 to 27: lower means fewer or milder signs."
    ),
    Instrument.GAD7: (
        "The GAD-7 asks about seven common signs of anxiety over the last two weeks. "
        "Scores go from 0 to 21: lower means fewer or milder signs."
    ),
}


def patient_reading(instrument: str, totals: list[int]) -> tuple[str, ...]:
    """What a patient's totals (first to latest) say, as plain sentences for the portal.

    The change since the first score is called big only when it is reliable
    (RELIABLE_CHANGE); smaller moves are described as the week-to-week ups and
    downs they may be. A reliable rise asks the patient to talk it over.
    """
    _check_instrument(instrument)
    if not totals:
        return ()
    first, latest = totals[0], totals[-1]
    band = band_label(band_for(instrument, latest)).lower()
    where = f"Your latest score, {latest}, is in the {band} range."
    if len(totals) == 1:
        return (f"Your first score was {latest}, in the {band} range. Later scores are compared with it.",)
    change = outcome(instrument, first, latest)
    if change.reliable_improvement:
        said = f"Your score has come down from {first} to {latest} since you started — that is a big change."
    elif latest < first:
        said = (
            f"Your score has come down a little, from {first} to {latest}. Scores go up and down "
            "from week to week, so the overall direction matters more than any one week."
        )
    elif latest == first:
        said = f"Your score is {latest}, the same as when you started."
    elif change.reliable_deterioration:
        said = (
            f"Your score has gone up from {first} to {latest} since you started. Please talk about "
            "this with your therapist at your next session, or contact the clinic sooner if you "
            "are worried about how you feel."
        )
    else:
        said = (
            f"Your score has gone up a little, from {first} to {latest}. Scores go up and down "
            "from week to week; your therapist will look at this with you."
        )
    return (said, where)
