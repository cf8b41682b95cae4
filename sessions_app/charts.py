"""Geometry for the server-rendered SVG charts.

Python works out where everything goes; templates in `templates/charts/`
draw it. Names and labels reach the SVG only through the template engine,
so they are escaped like any other text. No JavaScript, printable, and the
numbers are testable as plain data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

from sessions_app import ipt, measures

# --- Score chart -------------------------------------------------------------

CHART_WIDTH = 640
CHART_HEIGHT = 260
MARGIN_LEFT = 40
MARGIN_RIGHT = 24  # room for half of the last date label
MARGIN_TOP = 12
MARGIN_BOTTOM = 36
Y_MAX = measures.MAX_TOTAL[measures.Instrument.PHQ9]  # both instruments share the 0–27 axis


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    total: int
    taken_on: date
    label: str


@dataclass(frozen=True)
class ChartSeries:
    instrument: str
    label: str
    css_class: str
    points: tuple[ChartPoint, ...]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Threshold:
    y: float
    value: int
    label: str


@dataclass(frozen=True)
class ScoreChart:
    width: int
    height: int
    series: tuple[ChartSeries, ...]
    thresholds: tuple[Threshold, ...]
    y_ticks: tuple[Threshold, ...]
    x_labels: tuple[ChartPoint, ...]
    plot_left: int = MARGIN_LEFT
    plot_right: int = CHART_WIDTH - MARGIN_RIGHT
    plot_top: int = MARGIN_TOP
    plot_bottom: int = CHART_HEIGHT - MARGIN_BOTTOM

    @property
    def is_empty(self) -> bool:
        return not any(s.points for s in self.series)


def _y_for(total: float) -> float:
    plot_height = CHART_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    return MARGIN_TOP + plot_height * (1 - total / Y_MAX)


def score_chart(rows: list[tuple[date, str, int]]) -> ScoreChart:
    """Lay out PHQ-9 and GAD-7 totals over time.

    `rows` are (taken_on, instrument, total). The x axis is time, so gaps
    between sessions show as gaps; PHQ-9 band cut-points are drawn as lines.
    """
    dates = sorted({taken_on for taken_on, _, _ in rows})
    plot_width = CHART_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    span = (dates[-1] - dates[0]).days if len(dates) > 1 else 0

    def x_for(day: date) -> float:
        if span == 0:
            return MARGIN_LEFT + plot_width / 2
        return MARGIN_LEFT + plot_width * (day - dates[0]).days / span

    series = []
    for instrument, css_class in ((measures.Instrument.PHQ9, "phq9"), (measures.Instrument.GAD7, "gad7")):
        points = tuple(
            ChartPoint(
                x=x_for(taken_on),
                y=_y_for(total),
                total=total,
                taken_on=taken_on,
                label=f"{instrument.label} {total} on {taken_on:%d %b %Y}",
            )
            for taken_on, name, total in sorted(rows)
            if name == instrument
        )
        series.append(ChartSeries(instrument.value, instrument.label, css_class, points))

    thresholds = tuple(
        Threshold(y=_y_for(lowest), value=lowest, label=measures.band_label(band))
        for lowest, band in measures.BANDS[measures.Instrument.PHQ9]
        if lowest > 0
    )
    y_ticks = tuple(Threshold(y=_y_for(v), value=v, label=str(v)) for v in range(0, Y_MAX + 1, 5))
    # At most ~6 date labels so they never overlap.
    step = max(1, math.ceil(len(dates) / 6))
    x_labels = tuple(
        ChartPoint(x=x_for(d), y=CHART_HEIGHT - MARGIN_BOTTOM + 16, total=0, taken_on=d, label=f"{d:%d %b}")
        for d in dates[::step]
    )
    return ScoreChart(CHART_WIDTH, CHART_HEIGHT, tuple(series), thresholds, y_ticks, x_labels)


# --- Phase timeline ------------------------------------------------------------

TIMELINE_WIDTH = 640
TIMELINE_HEIGHT = 70
TIMELINE_PAD = 12


@dataclass(frozen=True)
class PhaseBand:
    phase: str
    label: str
    x: float
    width: float


@dataclass(frozen=True)
class SessionMark:
    x: float
    number: int | None
    attendance: str
    phase: str
    label: str


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    bands: tuple[PhaseBand, ...]
    marks: tuple[SessionMark, ...]
    band_y: int = 18
    band_height: int = 26


def phase_timeline(planned_sessions: int, sessions: list[tuple[int | None, str, str, date]]) -> Timeline:
    """Lay out a course as a band of phases with one mark per session.

    `sessions` are (number, attendance, phase, date) in date order. Attended
    sessions sit on their number's slot; cancelled and no-show sessions sit
    between the attended session before them and the next slot, spread out
    when there are several, so no two marks overlap. Sessions past the plan
    extend the band (maintenance or renegotiated sessions).
    """
    attended = [number for number, *_ in sessions if number]
    slots = max(planned_sessions, max(attended, default=0))
    slot_width = (TIMELINE_WIDTH - 2 * TIMELINE_PAD) / slots

    def x_for(slot: float) -> float:
        return TIMELINE_PAD + slot_width * (slot - 0.5)

    bands = []
    start = 1
    for phase in (ipt.Phase.INITIAL, ipt.Phase.MIDDLE, ipt.Phase.TERMINATION, ipt.Phase.MAINTENANCE):
        numbers = [n for n in range(1, slots + 1) if ipt.default_phase(n, planned_sessions) == phase]
        if not numbers:
            continue
        start = numbers[0]
        bands.append(
            PhaseBand(
                phase=phase.value,
                label=phase.label,
                x=TIMELINE_PAD + slot_width * (start - 1),
                width=slot_width * len(numbers),
            )
        )

    # Unnumbered sessions grouped by the attended session before them (0: none yet).
    gaps: dict[int, int] = {}
    previous = 0
    for number, *_ in sessions:
        if number:
            previous = number
        else:
            gaps[previous] = gaps.get(previous, 0) + 1

    marks = []
    previous = 0
    seen_in_gap = 0
    for number, attendance, phase, day in sessions:
        if number:
            previous, seen_in_gap = number, 0
            slot: float = number
            label = f"Session {number}, {day:%d %b %Y}"
        else:
            seen_in_gap += 1
            # Strictly between the attended slots, and never past the band's edges.
            lower, upper = max(previous, 0.5), min(previous + 1, slots + 0.5)
            slot = lower + (upper - lower) * seen_in_gap / (gaps[previous] + 1)
            label = f"{attendance.replace('_', '-').capitalize()} {day:%d %b %Y}"
        marks.append(
            SessionMark(x=x_for(slot), number=number, attendance=attendance, phase=phase, label=label)
        )
    return Timeline(TIMELINE_WIDTH, TIMELINE_HEIGHT, tuple(bands), tuple(marks))


# --- Closeness circle ----------------------------------------------------------

CIRCLE_SIZE = 360
RING_RADII = (60, 110, 160)  # ring 1 (closest) to ring 3
SELF_RADIUS = 22  # the patient's own dot, wide enough for its label
# Room either side of the rings for the name labels (14 characters at 12px).
LABEL_MARGIN = 90


@dataclass(frozen=True)
class PersonDot:
    x: float
    y: float
    name: str
    ring: int
    is_deceased: bool
    label_anchor: str


@dataclass(frozen=True)
class ClosenessCircle:
    size: int
    centre: float
    rings: tuple[int, ...]
    people: tuple[PersonDot, ...] = field(default_factory=tuple)
    self_radius: int = SELF_RADIUS
    margin: int = LABEL_MARGIN

    @property
    def view_box(self) -> str:
        """The SVG viewBox: the rings plus room for labels on the left and right."""
        return f"{-self.margin} 0 {self.size + 2 * self.margin} {self.size}"


def closeness_circle(people: list[tuple[str, int, bool]]) -> ClosenessCircle:
    """Place people on rings 1–3 around the patient, spread evenly on each ring.

    `people` are (name, ring, is_deceased). Each ring's people are spaced
    evenly, and rings are rotated against each other so labels interleave.
    """
    centre = CIRCLE_SIZE / 2
    dots = []
    for ring in (1, 2, 3):
        on_ring = [p for p in people if p[1] == ring]
        radius = RING_RADII[ring - 1] - 25
        for i, (name, _, deceased) in enumerate(on_ring):
            angle = 2 * math.pi * i / len(on_ring) - math.pi / 2 + ring * 0.6
            x = centre + radius * math.cos(angle)
            y = centre + radius * math.sin(angle)
            anchor = "start" if x >= centre else "end"
            dots.append(PersonDot(x, y, name, ring, deceased, anchor))
    return ClosenessCircle(CIRCLE_SIZE, centre, RING_RADII, tuple(dots))


# --- Mean PHQ-9 by session number (clinic caseload) ------------------------------


@dataclass(frozen=True)
class MeanScorePoint:
    """The mean PHQ-9 at one session number over a set of courses (0: taken at intake)."""

    position: int
    mean: float
    courses: int

    @property
    def label(self) -> str:
        where = "Intake" if self.position == 0 else f"Session {self.position}"
        plural = "s" if self.courses != 1 else ""
        return f"{where}: mean PHQ-9 {self.mean:.1f} over {self.courses} course{plural}"


@dataclass(frozen=True)
class PlottedMean:
    x: float
    y: float
    point: MeanScorePoint


@dataclass(frozen=True)
class AxisLabel:
    x: float
    text: str


@dataclass(frozen=True)
class MeanScoreChart:
    width: int
    height: int
    points: tuple[PlottedMean, ...]
    thresholds: tuple[Threshold, ...]
    y_ticks: tuple[Threshold, ...]
    x_labels: tuple[AxisLabel, ...]
    plot_left: int = MARGIN_LEFT
    plot_right: int = CHART_WIDTH - MARGIN_RIGHT
    plot_top: int = MARGIN_TOP
    plot_bottom: int = CHART_HEIGHT - MARGIN_BOTTOM
    x_label_y: int = CHART_HEIGHT - MARGIN_BOTTOM + 16

    @property
    def is_empty(self) -> bool:
        return not self.points

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def mean_score_chart(points: list[MeanScorePoint]) -> MeanScoreChart:
    """Lay out mean PHQ-9 totals by session number, evenly spaced along the x axis,
    with the PHQ-9 band cut-points drawn as lines (the same axes as `score_chart`)."""
    points = sorted(points, key=lambda p: p.position)
    plot_width = CHART_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    first = points[0].position if points else 0
    span = points[-1].position - first if points else 0

    def x_for(position: int) -> float:
        if span == 0:
            return MARGIN_LEFT + plot_width / 2
        return MARGIN_LEFT + plot_width * (position - first) / span

    plotted = tuple(PlottedMean(x_for(p.position), _y_for(p.mean), p) for p in points)
    thresholds = tuple(
        Threshold(y=_y_for(lowest), value=lowest, label=measures.band_label(band))
        for lowest, band in measures.BANDS[measures.Instrument.PHQ9]
        if lowest > 0
    )
    y_ticks = tuple(Threshold(y=_y_for(v), value=v, label=str(v)) for v in range(0, Y_MAX + 1, 5))
    # At most ~12 labels so they never overlap.
    step = max(1, math.ceil(len(points) / 12))
    x_labels = tuple(
        AxisLabel(x_for(p.position), "Intake" if p.position == 0 else str(p.position)) for p in points[::step]
    )
    return MeanScoreChart(CHART_WIDTH, CHART_HEIGHT, plotted, thresholds, y_ticks, x_labels)
