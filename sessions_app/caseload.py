"""The clinic admin's caseload review: headline figures, the lists behind them, outcomes, export rows.

Every figure is a named condition on `CourseQuerySet.with_caseload_figures()`
rows (`FIGURES`). The dashboard counts them with conditional aggregates in
one grouped query, and the drill-down list filters by the very same
condition, so a count and the list behind it cannot disagree. Outcomes need
each completed course's first and latest PHQ-9, fetched in one query and
classified with `measures.outcome`; nothing here restates a threshold.

Scope comes from `access.courses_for(user)`: a clinic admin's own clinic only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse

from sessions_app import access, charts, ipt, measures
from sessions_app.models import Course, MeasureResponse, Patient, User
from sessions_app.querysets import CourseQuerySet, caseload_conditions, focus_areas, focus_flag, in_phase

PAGE_SIZE = 25
PHQ9 = measures.Instrument.PHQ9


def default_period(today: date) -> tuple[date, date]:
    """The last 12 months: from the day after this date a year ago, to today."""
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago = today.replace(year=today.year - 1, day=28)
    return year_ago + timedelta(days=1), today


# --- Filters -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseloadFilters:
    """The filters in force (the valid ones typed, defaults for the rest) and what was set aside."""

    date_from: date
    date_to: date
    today: date
    therapist: User | None = None
    area: str = ""
    phase: str = ""
    figure: str = "caseload"
    page: int | None = None
    notices: tuple[str, ...] = ()

    def params(self, **overrides: str) -> dict[str, str]:
        """The filters as GET parameters: the period always (so links do not shift with the
        date), the rest when set; `overrides` replace or add parameters."""
        params = {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "therapist": str(self.therapist.public_id) if self.therapist else "",
            "area": self.area,
            "phase": self.phase,
        }
        params.update(overrides)
        return {name: value for name, value in params.items() if value}

    def url(self, name: str, **overrides: str) -> str:
        return f"{reverse(name)}?{urlencode(self.params(**overrides))}"

    def list_url(self, figure: str, **overrides: str) -> str:
        """The drill-down list of the courses behind `figure`, under these filters."""
        return self.url("clinic-patients", figure=figure, **overrides)


# --- Figures ---------------------------------------------------------------------------------------------

OUTCOME_FLAGS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(measures.Outcome))


def _completed(filters: CaseloadFilters) -> Q:
    return Q(status=Course.Status.COMPLETED, end_date__gte=filters.date_from, end_date__lte=filters.date_to)


def _ended(filters: CaseloadFilters) -> Q:
    return Q(
        status__in=[Course.Status.COMPLETED, Course.Status.DISCONTINUED],
        end_date__gte=filters.date_from,
        end_date__lte=filters.date_to,
    )


ACTIVE = Q(status=Course.Status.ACTIVE)


@dataclass(frozen=True)
class Figure:
    """One count on the dashboard and the list behind it.

    `condition` selects the courses in SQL; `live` figures are about the
    current caseload and take the phase filter (so they cover active courses
    only when it is set); the others are about courses completed in the period
    and ignore it. `outcome` figures are picked in Python from the completed
    courses' scores, with measures.outcome / measures.is_case.
    """

    key: str
    title: str
    condition: Callable[[CaseloadFilters], Q]
    live: bool = True
    outcome: Callable[[CourseScores], bool] | None = None


def _outcome_figure(flag: str, title: str) -> Figure:
    return Figure(
        flag,
        title,
        _completed,
        live=False,
        outcome=lambda scores: scores.outcome is not None and getattr(scores.outcome, flag),
    )


_FIGURES: list[Figure] = [
    Figure(
        "caseload",
        "Every course active now or ended in the period",
        lambda f: ACTIVE | _ended(f),
    ),
    Figure("active", "Active courses", lambda f: ACTIVE),
    *(
        Figure(
            f"phase:{phase}", f"Active courses in the {label.lower()} phase", lambda f, p=phase: in_phase(p)
        )
        for phase, label in ipt.Phase.choices
    ),
    *(
        Figure(
            f"area:{area}",
            f"Active courses working on {label.lower()}",
            lambda f, a=area: Q(ACTIVE, **{focus_flag(a): True}),
        )
        for area, label in ipt.ProblemArea.choices
    ),
    Figure("no_area", "Active courses with no problem area chosen yet", lambda f: Q(ACTIVE, has_focus=False)),
    Figure(
        "overdue",
        f"Overdue: active courses with no attended session in {ipt.OVERDUE_AFTER_DAYS} days or more",
        lambda f: caseload_conditions(f.today)["overdue"],
    ),
    Figure(
        "risk",
        "Open risk flags: PHQ-9 item 9 positive without a risk check, or scores reliably worse",
        lambda f: caseload_conditions(f.today)["risk"],
    ),
    Figure(
        "item9",
        "PHQ-9 item 9 positive without a risk check recorded after it (active courses)",
        lambda f: caseload_conditions(f.today)["item9"],
    ),
    Figure(
        "deteriorating",
        "PHQ-9 or GAD-7 reliably worse than at the start of the course (active courses)",
        lambda f: caseload_conditions(f.today)["deteriorating"],
    ),
    Figure(
        "unsigned",
        f"Courses with session notes unsigned for more than {ipt.SIGN_NOTES_WITHIN_HOURS} hours",
        lambda f: Q(late_unsigned_count__gt=0),
    ),
    Figure(
        "past_plan",
        "Active courses past their planned sessions, with no maintenance agreed",
        lambda f: caseload_conditions(f.today)["past_plan"],
    ),
    Figure("completed", "Courses completed in the period", _completed, live=False),
    Figure(
        "no_baseline",
        "Courses completed in the period with no PHQ-9 at all",
        lambda f: _completed(f) & Q(**{f"{PHQ9}_count": 0}),
        live=False,
    ),
    Figure(
        "no_final",
        "Courses completed in the period with a baseline PHQ-9 but no later one",
        lambda f: _completed(f) & Q(**{f"{PHQ9}_count": 1}),
        live=False,
    ),
    Figure(
        "measured",
        "Courses completed in the period with a baseline and a final PHQ-9",
        lambda f: _completed(f) & Q(**{f"{PHQ9}_count__gte": 2}),
        live=False,
    ),
    _outcome_figure("response", "Response: PHQ-9 fell by half or more"),
    _outcome_figure("remission", "Remission: final PHQ-9 below the remission threshold"),
    _outcome_figure("reliable_improvement", "Reliable improvement in PHQ-9"),
    _outcome_figure("reliable_deterioration", "Reliable deterioration in PHQ-9"),
    _outcome_figure("recovery", "Recovery: a PHQ-9 case at the start and not at the end"),
    Figure(
        "case_at_baseline",
        "Courses completed in the period whose baseline PHQ-9 was at caseness",
        _completed,
        live=False,
        outcome=lambda scores: scores.case_at_baseline,
    ),
]
FIGURES: dict[str, Figure] = {figure.key: figure for figure in _FIGURES}
# The figures counted per therapist in one grouped query.
LIVE_COUNTED = (
    "active",
    *(f"phase:{phase}" for phase in ipt.Phase.values),
    *(f"area:{area}" for area in ipt.ProblemArea.values),
    "no_area",
    "overdue",
    "risk",
    "item9",
    "deteriorating",
    "unsigned",
    "past_plan",
    "completed",
)
assert set(OUTCOME_FLAGS) <= set(FIGURES), "every outcome flag of measures.Outcome needs a figure"


def figure_condition(key: str, filters: CaseloadFilters) -> Q:
    """The SQL condition of a figure under the filters (the phase filter on live figures only)."""
    figure = FIGURES[key]
    condition = figure.condition(filters)
    if figure.live and filters.phase:
        condition &= in_phase(filters.phase)
    return condition


def courses(user: User, filters: CaseloadFilters, *, today: date) -> CourseQuerySet:
    """The user's courses under the therapist and problem-area filters, with the caseload figures."""
    queryset = access.courses_for(user).with_caseload_figures(today=today)
    if filters.therapist is not None:
        queryset = queryset.filter(therapist=filters.therapist)
    if filters.area:
        queryset = queryset.filter(**{focus_flag(filters.area): True})
    return queryset


BY_NAME = ("patient__family_name", "patient__given_name", "patient_id", "start_date", "pk")


# --- Dashboard -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """A count and the list of the courses behind it."""

    value: int
    url: str


@dataclass(frozen=True)
class LabelledCell:
    label: str
    cell: Cell


@dataclass(frozen=True)
class TherapistRow:
    name: str
    is_active: bool
    cells: dict[str, Cell]
    late_unsigned_notes: Cell

    @property
    def phases(self) -> list[Cell]:
        return [self.cells[f"phase:{phase}"] for phase in ipt.Phase.values]


@dataclass(frozen=True)
class Headline:
    """The clinic-wide figures: the sums of the per-therapist counts."""

    cells: dict[str, Cell]
    late_unsigned_notes: Cell

    @property
    def phases(self) -> list[LabelledCell]:
        return [LabelledCell(label, self.cells[f"phase:{code}"]) for code, label in ipt.Phase.choices]

    @property
    def areas(self) -> list[LabelledCell]:
        return [LabelledCell(label, self.cells[f"area:{code}"]) for code, label in ipt.ProblemArea.choices]


def therapist_figures(
    queryset: CourseQuerySet, filters: CaseloadFilters, therapists: list[User]
) -> tuple[Headline, list[TherapistRow]]:
    """The live counts (and courses completed in the period) per therapist, and their sums.

    One query, grouped by therapist, of conditional COUNTs (and a SUM of late notes). Every
    therapist of the clinic gets a row (the chosen one only, when filtered), with zeros where
    they have no courses; courses of anyone no longer a therapist of the clinic still count,
    in a row of their own without links (no filter can pick them).
    """
    aggregates: dict[str, Any] = {
        f"n{k}": Count("pk", filter=figure_condition(key, filters)) for k, key in enumerate(LIVE_COUNTED)
    }
    aggregates["notes"] = Coalesce(
        Sum("late_unsigned_count", filter=figure_condition("unsigned", filters)), 0
    )
    # Only the courses some figure counts: active, completed in the period, or with late notes.
    relevant = ACTIVE | _completed(filters) | Q(late_unsigned_count__gt=0)
    names = ("therapist__first_name", "therapist__last_name", "therapist__username")
    grouped = {
        row["therapist_id"]: row
        for row in queryset.filter(relevant).order_by().values("therapist_id", *names).annotate(**aggregates)
    }

    people: list[tuple[int, str, bool, dict[str, str] | None]] = [
        (t.pk, t.display_name, t.is_active, {"therapist": str(t.public_id)})
        for t in therapists
        if filters.therapist is None or t.pk == filters.therapist.pk
    ]
    listed = {pk for pk, *_ in people}
    for pk, row in grouped.items():
        if pk not in listed:
            name = f"{row['therapist__first_name']} {row['therapist__last_name']}".strip()
            people.append((pk, f"{name or row['therapist__username']} (no longer a therapist)", False, None))

    rows = []
    totals = dict.fromkeys(LIVE_COUNTED, 0)
    total_notes = 0
    for pk, name, is_active, link in people:
        counts = grouped.get(pk, {})

        def cell(key: str, value: int, link: dict[str, str] | None = link) -> Cell:
            return Cell(value, filters.list_url(key, **link) if link is not None else "")

        cells = {key: cell(key, counts.get(f"n{k}", 0)) for k, key in enumerate(LIVE_COUNTED)}
        notes = counts.get("notes", 0)
        for key, c in cells.items():
            totals[key] += c.value
        total_notes += notes
        rows.append(TherapistRow(name, is_active, cells, cell("unsigned", notes)))
    headline = Headline(
        {key: Cell(value, filters.list_url(key)) for key, value in totals.items()},
        Cell(total_notes, filters.list_url("unsigned")),
    )
    return headline, rows


# --- Outcomes --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CourseScores:
    """A completed course's first and latest PHQ-9, and what they say."""

    pk: int
    therapist_id: int
    areas: tuple[str, ...]
    count: int
    baseline: int | None
    final: int | None

    @property
    def measured(self) -> bool:
        """A baseline and a later, final score: one score alone is only a baseline."""
        return self.count >= 2

    @property
    def outcome(self) -> measures.Outcome | None:
        if not self.measured:
            return None
        return measures.outcome(PHQ9, self.baseline, self.final)

    @property
    def change(self) -> int | None:
        return self.final - self.baseline if self.measured else None

    @property
    def case_at_baseline(self) -> bool:
        return self.measured and measures.is_case(PHQ9, self.baseline)


def completed_scores(queryset: CourseQuerySet, filters: CaseloadFilters) -> list[CourseScores]:
    """Every course completed in the period, with its PHQ-9 baseline and final score: one query,
    ordered as the lists are."""
    flags = [focus_flag(area) for area in ipt.ProblemArea.values]
    rows = (
        queryset.filter(figure_condition("completed", filters))
        .order_by(*BY_NAME)
        .values("pk", "therapist_id", f"{PHQ9}_count", f"{PHQ9}_baseline", f"{PHQ9}_latest", *flags)
    )
    return [
        CourseScores(
            pk=row["pk"],
            therapist_id=row["therapist_id"],
            areas=tuple(area for area in ipt.ProblemArea.values if row[focus_flag(area)]),
            count=row[f"{PHQ9}_count"],
            baseline=row[f"{PHQ9}_baseline"],
            final=row[f"{PHQ9}_latest"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class OutcomeCell:
    """One outcome count, its list, and its rate over `denominator` courses."""

    cell: Cell
    denominator: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.cell.value / self.denominator) if self.denominator else None


@dataclass(frozen=True)
class OutcomeRow:
    label: str
    completed: Cell
    no_baseline: Cell
    no_final: Cell
    measured: Cell
    mean_change: float | None
    rates: list[OutcomeCell]  # in OUTCOME_COLUMNS order

    @property
    def missing(self) -> int:
        return self.no_baseline.value + self.no_final.value

    @property
    def mean_change_text(self) -> str:
        """The mean change with its sign (a fall is an improvement), or a dash."""
        if self.mean_change is None:
            return "—"
        return f"{self.mean_change:+.1f}".replace("-", "−")


# (figure, column heading, the figure whose count is the denominator)
OUTCOME_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("response", "Response", "measured"),
    ("remission", "Remission", "measured"),
    ("reliable_improvement", "Reliable improvement", "measured"),
    ("reliable_deterioration", "Reliable deterioration", "measured"),
    ("recovery", "Recovery", "case_at_baseline"),
)


def outcome_definitions() -> list[tuple[str, str]]:
    """What each outcome means, worded from the constants in `measures`."""
    percent = round(100 * measures.RESPONSE_FALL_FRACTION)
    return [
        ("Response", f"PHQ-9 fell by {percent}% or more from the baseline."),
        ("Remission", f"Final PHQ-9 below {measures.REMISSION_BELOW[PHQ9]}."),
        (
            "Reliable improvement and deterioration",
            f"PHQ-9 fell (or rose) by {measures.RELIABLE_CHANGE[PHQ9]} points or more.",
        ),
        (
            "Recovery",
            f"PHQ-9 at caseness ({measures.CASENESS_AT[PHQ9]} or more) at the baseline and below it at the "
            "end; the rate is out of the courses that were at caseness at the baseline.",
        ),
    ]


def outcome_row(label: str, scores: list[CourseScores], filters: CaseloadFilters, **link: str) -> OutcomeRow:
    """The outcome figures of a group of completed courses (each count linked to its list)."""

    def cell(key: str) -> Cell:
        figure = FIGURES[key]
        if figure.outcome is not None:
            value = sum(1 for s in scores if figure.outcome(s))
        else:
            value = {
                "completed": len(scores),
                "no_baseline": sum(1 for s in scores if s.count == 0),
                "no_final": sum(1 for s in scores if s.count == 1),
                "measured": sum(1 for s in scores if s.measured),
            }[key]
        return Cell(value, filters.list_url(key, **link))

    changes = [s.change for s in scores if s.change is not None]
    denominators = {key: cell(key) for key in ("measured", "case_at_baseline")}
    return OutcomeRow(
        label=label,
        completed=cell("completed"),
        no_baseline=cell("no_baseline"),
        no_final=cell("no_final"),
        measured=denominators["measured"],
        mean_change=sum(changes) / len(changes) if changes else None,
        rates=[
            OutcomeCell(cell(key), denominators[denominator].value) for key, _, denominator in OUTCOME_COLUMNS
        ],
    )


@dataclass(frozen=True)
class Outcomes:
    overall: OutcomeRow
    by_therapist: list[OutcomeRow]
    by_area: list[OutcomeRow]
    chart: charts.MeanScoreChart
    chart_rows: list[charts.MeanScorePoint]


def outcomes(queryset: CourseQuerySet, filters: CaseloadFilters, therapists: list[User]) -> Outcomes:
    """Outcomes of the courses completed in the period: overall, per therapist, per problem area
    (a course with two areas counts under both); and the mean PHQ-9 by session number."""
    scores = completed_scores(queryset, filters)
    listed = [t for t in therapists if filters.therapist is None or t.pk == filters.therapist.pk]
    by_therapist = [
        outcome_row(
            t.display_name, [s for s in scores if s.therapist_id == t.pk], filters, therapist=str(t.public_id)
        )
        for t in listed
    ]
    areas = [filters.area] if filters.area else ipt.ProblemArea.values
    by_area = [
        outcome_row(ipt.ProblemArea(area).label, [s for s in scores if area in s.areas], filters, area=area)
        for area in areas
    ]
    points = mean_phq9_by_session(queryset, filters)
    return Outcomes(
        overall=outcome_row("All completed courses", scores, filters),
        by_therapist=by_therapist,
        by_area=by_area,
        chart=charts.mean_score_chart(points),
        chart_rows=points,
    )


def mean_phq9_by_session(queryset: CourseQuerySet, filters: CaseloadFilters) -> list[charts.MeanScorePoint]:
    """Mean PHQ-9 at each session number over the courses completed in the period (0: a score
    taken at intake, outside a session). One aggregate query."""
    completed = queryset.filter(figure_condition("completed", filters)).values("pk")
    rows = (
        MeasureResponse.objects.filter(course__in=completed, instrument=PHQ9)
        .annotate(position=Coalesce("session__number", 0))
        .order_by()
        .values("position")
        .annotate(mean=Avg("total"), courses=Count("course", distinct=True))
        .order_by("position")
    )
    return [charts.MeanScorePoint(row["position"], float(row["mean"]), row["courses"]) for row in rows]


# --- The drill-down list and the export ------------------------------------------------------------


def figure_courses(queryset: CourseQuerySet, filters: CaseloadFilters) -> CourseQuerySet | list[int]:
    """The courses behind the filters' figure, by patient name: a queryset, or (for outcome
    figures, picked in Python) the ordered primary keys."""
    figure = FIGURES[filters.figure]
    if figure.outcome is None:
        return queryset.filter(figure_condition(figure.key, filters)).order_by(*BY_NAME)
    return [s.pk for s in completed_scores(queryset, filters) if figure.outcome(s)]


def rows_for(queryset: CourseQuerySet, keys: Iterable[int]) -> list[Course]:
    """The courses with these primary keys, in the order given: one query."""
    keys = list(keys)
    found = {course.pk: course for course in queryset.filter(pk__in=keys)}
    return [found[key] for key in keys if key in found]


def patients_of(rows: Iterable[Course]) -> list[Patient]:
    """The patients of these courses, each once, in order."""
    return list({course.patient_id: course.patient for course in rows}.values())


def attach_areas(rows: Iterable[Course]) -> None:
    """Give each annotated course its problem areas (`areas`), the primary one first."""
    for course in rows:
        course.areas = focus_areas(course)


def phq9_outcome(course: Course) -> measures.Outcome | None:
    """PHQ-9 outcome of an annotated course so far (None until it has two scores)."""
    if getattr(course, f"{PHQ9}_count") < 2:
        return None
    return measures.outcome(PHQ9, getattr(course, f"{PHQ9}_baseline"), getattr(course, f"{PHQ9}_latest"))


# CSV cells starting with these are read as formulas by spreadsheets (CWE-1236).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

CSV_HEADER = (
    "Patient ID",
    "Patient",
    "Therapist",
    "Course ID",
    "Status",
    "Phase",
    "Sessions held",
    "Sessions planned",
    "Start date",
    "End date",
    "Last session",
    "Primary problem area",
    "Other problem areas",
    "PHQ-9 baseline",
    "PHQ-9 latest",
    "PHQ-9 change",
    "GAD-7 baseline",
    "GAD-7 latest",
    "GAD-7 change",
    "Overdue",
    "Item 9 without risk check",
    "Scores reliably worse",
    f"Notes unsigned over {ipt.SIGN_NOTES_WITHIN_HOURS} hours",
    "Past planned sessions",
    *(f"PHQ-9 {label.lower()}" for _, label, _ in OUTCOME_COLUMNS),
)


def csv_safe(value: Any) -> Any:
    """A text cell a spreadsheet will not run as a formula: a leading apostrophe where needed."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _label(choices: type, code: str | None) -> str:
    return choices(code).label if code in choices.values else ""


def csv_row(course: Course) -> list[Any]:
    """One course as an export row: structured fields and figures only, never free text."""
    outcome = phq9_outcome(course)
    areas = focus_areas(course)
    row = [
        str(course.patient.public_id),
        course.patient.full_name,
        course.therapist.display_name,
        str(course.public_id),
        course.get_status_display(),
        _label(ipt.Phase, course.current_phase),
        course.sessions_done,
        course.planned_sessions,
        course.start_date.isoformat(),
        course.end_date.isoformat() if course.end_date else "",
        course.last_session_on.isoformat() if course.last_session_on else "",
        _label(ipt.ProblemArea, course.primary_area) if course.primary_area else "",
        "; ".join(ipt.ProblemArea(a).label for a in areas if a != course.primary_area),
    ]
    for instrument in measures.Instrument.values:
        count = getattr(course, f"{instrument}_count")
        row += [
            getattr(course, f"{instrument}_baseline") if count else "",
            getattr(course, f"{instrument}_latest") if count >= 2 else "",
            getattr(course, f"{instrument}_change") if count >= 2 else "",
        ]
    row += [
        _yes_no(course.is_overdue),
        _yes_no(course.status == Course.Status.ACTIVE and course.item9_unresolved),
        _yes_no(course.is_deteriorating),
        course.late_unsigned_count,
        _yes_no(course.is_past_plan),
    ]
    row += [_yes_no(None if outcome is None else getattr(outcome, key)) for key, _, _ in OUTCOME_COLUMNS]
    return [csv_safe(value) for value in row]


def csv_rows(courses: Iterable[Course]) -> Iterator[list[Any]]:
    yield list(CSV_HEADER)
    for course in courses:
        yield csv_row(course)
