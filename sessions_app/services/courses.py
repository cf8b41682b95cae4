"""Writing a course: the initial-phase steps and the course-level actions.

Every function here takes rows the view already fetched through
`sessions_app.access` (so scope and the treating-therapist check are done),
validates with `full_clean()` before saving, and runs in one transaction.

Each initial-phase step ends by closing the initial phase when all its tasks
are done (`Course.middle_phase_started_on`): later sessions then default to
the middle phase (`ipt.default_phase(..., initial_closed=True)`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from sessions_app import ipt, measures
from sessions_app.models import (
    ContractRevision,
    Course,
    Goal,
    MeasureResponse,
    ProblemAreaFocus,
    RelationshipEntry,
    TherapySession,
    User,
)

# --- Reading the facts the checklists need --------------------------------------------------------


def build_initial_facts(
    course: Course,
    *,
    has_phq9: bool,
    inventory_count: int,
    foci: Iterable[ProblemAreaFocus],
    goal_areas: Sequence[str],
) -> ipt.InitialFacts:
    """The initial-phase facts of `course` from rows the caller already holds (no queries)."""
    foci = list(foci)
    areas = [focus.area for focus in foci]
    return ipt.InitialFacts(
        has_baseline_phq9=has_phq9,
        psychoeducation_done=course.psychoeducation_on is not None,
        medication_reviewed=course.patient.medication_reviewed_on is not None,
        inventory_count=inventory_count,
        has_primary_focus=any(focus.is_primary for focus in foci),
        formulation_written=bool(course.formulation.strip()),
        formulation_shared=course.formulation_shared_on is not None,
        formulation_agreed=course.formulation_agreed,
        contract_agreed=course.contract_date is not None,
        goal_coverage=ipt.goal_coverage(areas, list(goal_areas)),
    )


def load_initial_facts(course: Course) -> ipt.InitialFacts:
    """The initial-phase facts of `course`, read from the database (four queries)."""
    foci = list(course.foci.all())
    return build_initial_facts(
        course,
        has_phq9=course.measures.filter(instrument=measures.Instrument.PHQ9).exists(),
        inventory_count=course.relationships.count(),
        foci=foci,
        goal_areas=list(
            Goal.objects.filter(focus__course=course)
            .exclude(status=Goal.Status.DROPPED)
            .values_list("focus__area", flat=True)
        ),
    )


def termination_facts(course: Course) -> ipt.TerminationFacts:
    """The termination-phase facts of `course` (its own fields, no queries)."""
    return ipt.TerminationFacts(
        ending_discussed=course.ending_discussed_on is not None,
        feelings_recorded=bool(course.feelings_about_ending.strip()),
        gains_recorded=bool(course.gains.strip()),
        relapse_plan_recorded=bool(course.relapse_warning_signs.strip() and course.coping_plan.strip()),
        continuation_decided=bool(course.continuation_decision),
    )


def _close_initial_phase_if_done(course: Course) -> bool:
    """Move the course to the middle phase once every initial task is done."""
    if course.middle_phase_started_on is not None:
        return False
    if not ipt.checklist_complete(ipt.initial_checklist(load_initial_facts(course))):
        return False
    course.middle_phase_started_on = timezone.localdate()
    course.save(update_fields=["middle_phase_started_on"])
    return True


def _require_active(course: Course) -> None:
    if course.status != Course.Status.ACTIVE:
        raise CourseClosed(course)


class CourseClosed(ValidationError):
    """Raised on a write to a completed or discontinued course."""

    def __init__(self, course: Course) -> None:
        super().__init__(
            f"This course is {course.get_status_display().lower()}; it can no longer be changed.",
            code="course_closed",
        )


@dataclass(frozen=True)
class StepResult:
    """What a step wrote, for the audit trail and the message."""

    created: tuple[object, ...] = ()
    updated: tuple[object, ...] = ()
    deleted: tuple[object, ...] = ()
    moved_to_middle: bool = False


# --- Step 1: symptoms, conditions, medication -----------------------------------------------------


def intake_measure(course: Course, instrument: str) -> MeasureResponse | None:
    """The questionnaire the initial-phase symptom review recorded (no session), if any.

    Measures taken in a session belong to the session log; the stepper keeps
    one intake questionnaire per instrument and edits it in place.
    """
    return (
        MeasureResponse.objects.filter(course=course, session__isnull=True, instrument=instrument)
        .order_by("taken_on", "created_at")
        .first()
    )


def _save_intake_measure(
    *,
    course: Course,
    instrument: str,
    items: list[int] | None,
    difficulty: int | None,
    taken_on: date,
    by: User,
) -> tuple[MeasureResponse | None, str]:
    """Create, update or (when cleared) delete the intake questionnaire: (row, what happened)."""
    existing = intake_measure(course, instrument)
    if items is None:
        if existing is None:
            return None, ""
        existing.delete()
        return existing, "deleted"
    measure = existing or MeasureResponse(
        patient=course.patient, course=course, session=None, instrument=instrument
    )
    measure.items = items
    measure.difficulty = difficulty
    measure.taken_on = taken_on
    measure.recorded_by = by
    measure.full_clean()
    measure.save()
    return measure, "updated" if existing else "created"


@transaction.atomic
def initial_symptoms_record(
    *,
    course: Course,
    by: User,
    taken_on: date,
    phq9_items: list[int],
    phq9_difficulty: int | None,
    gad7_items: list[int] | None,
    gad7_difficulty: int | None,
    conditions: list[str],
    conditions_other: str,
    medication: str,
    medication_reviewed_on: date | None,
) -> StepResult:
    """Step 1: the intake PHQ-9 (and GAD-7 if given), conditions and the medication review.

    The questionnaires are stored against the course with no session, so they
    never collide with the one-per-session questionnaire of the session log.
    Clearing every GAD-7 answer removes the intake GAD-7.
    """
    _require_active(course)
    written: dict[str, list] = {"created": [], "updated": [], "deleted": []}
    for instrument, items, difficulty in (
        (measures.Instrument.PHQ9, phq9_items, phq9_difficulty),
        (measures.Instrument.GAD7, gad7_items, gad7_difficulty),
    ):
        measure, what = _save_intake_measure(
            course=course, instrument=instrument, items=items, difficulty=difficulty, taken_on=taken_on, by=by
        )
        if what:
            written[what].append(measure)

    patient = course.patient
    patient.conditions = list(conditions)
    patient.conditions_other = conditions_other
    patient.medication = medication
    patient.medication_reviewed_on = medication_reviewed_on
    patient.full_clean()
    patient.save(update_fields=["conditions", "conditions_other", "medication", "medication_reviewed_on"])
    written["updated"].append(patient)
    return StepResult(
        created=tuple(written["created"]),
        updated=tuple(written["updated"]),
        deleted=tuple(written["deleted"]),
        moved_to_middle=_close_initial_phase_if_done(course),
    )


# --- Steps 2 and 5: course fields -----------------------------------------------------------------


@transaction.atomic
def course_psychoeducation_record(*, course: Course, on: date) -> StepResult:
    """Step 2: psychoeducation and the sick role were discussed on `on`."""
    _require_active(course)
    course.psychoeducation_on = on
    course.full_clean()
    course.save(update_fields=["psychoeducation_on"])
    return StepResult(updated=(course,), moved_to_middle=_close_initial_phase_if_done(course))


@transaction.atomic
def course_formulation_record(
    *, course: Course, formulation: str, shared_on: date | None, agreed: bool
) -> StepResult:
    """Step 5: the formulation, when it was shared and whether the patient agreed."""
    _require_active(course)
    course.formulation = formulation
    course.formulation_shared_on = shared_on
    course.formulation_agreed = agreed
    course.full_clean()
    course.save(update_fields=["formulation", "formulation_shared_on", "formulation_agreed"])
    return StepResult(updated=(course,), moved_to_middle=_close_initial_phase_if_done(course))


# --- Step 3: the interpersonal inventory ----------------------------------------------------------


class RelationshipInUse(ValidationError):
    """Raised when removing a person the course's record still refers to."""


@transaction.atomic
def relationship_save(*, course: Course, entry: RelationshipEntry) -> StepResult:
    """Step 3: add a person to the inventory, or save changes to one."""
    _require_active(course)
    if entry.course_id is not None and entry.course_id != course.pk:
        raise ValueError("The person belongs to another course's inventory.")
    is_new = entry.pk is None
    entry.course = course
    entry.full_clean()
    entry.save()
    moved = _close_initial_phase_if_done(course)
    if is_new:
        return StepResult(created=(entry,), moved_to_middle=moved)
    return StepResult(updated=(entry,), moved_to_middle=moved)


@transaction.atomic
def relationship_remove(*, course: Course, entry: RelationshipEntry) -> StepResult:
    """Step 3: take a person off the inventory.

    Refused while a problem area names them, or a session discussed them or
    had them attend: those records (signed notes among them) must keep saying who.
    """
    _require_active(course)
    if entry.course_id != course.pk:
        raise ValueError("The person belongs to another course's inventory.")
    if entry.foci.exists():
        raise RelationshipInUse(
            f"{entry.name} is the person of a problem area; change the problem area first.",
            code="in_focus",
        )
    if (
        TherapySession.objects.filter(people_discussed=entry).exists()
        or TherapySession.objects.filter(joint_attendees=entry).exists()
    ):
        raise RelationshipInUse(
            f"{entry.name} is named in a session record, so they stay in the inventory.",
            code="in_session",
        )
    entry.delete()
    return StepResult(deleted=(entry,))


# --- Step 4: problem areas ------------------------------------------------------------------------


@dataclass(frozen=True)
class FocusInput:
    """One chosen problem area with its area-specific fields (irrelevant ones blank)."""

    area: str
    rationale: str = ""
    person: RelationshipEntry | None = None
    dispute_stage: str = ""
    old_role: str = ""
    new_role: str = ""
    change_date: date | None = None
    date_of_death: date | None = None


class FocusInUse(ValidationError):
    """Raised when a focus that goals or sessions refer to would be dropped."""

    def __init__(self, focus: ProblemAreaFocus) -> None:
        self.focus = focus
        super().__init__(
            f"{focus.get_area_display()} has goals or sessions linked to it, so it stays a problem area "
            "of this course (you may still change which area is primary).",
            code="focus_in_use",
        )


FOCUS_FIELDS = (
    "rationale",
    "person",
    "dispute_stage",
    "old_role",
    "new_role",
    "change_date",
    "date_of_death",
)


@transaction.atomic
def course_foci_set(*, course: Course, primary: FocusInput, second: FocusInput | None) -> StepResult:
    """Step 4: make `primary` (and `second`, if any) the course's problem areas.

    A focus is matched by its area, so a focus keeps its goals and session
    links when it only changes from primary to second or back. An area no
    longer chosen is removed, unless goals or sessions refer to it
    (`FocusInUse`). For grief, the person who died is marked deceased in the
    inventory.
    """
    _require_active(course)
    chosen = [primary] + ([second] if second is not None else [])
    if len({choice.area for choice in chosen}) != len(chosen):
        raise ValidationError("The second problem area must differ from the primary one.", code="same_area")
    for choice in chosen:
        if choice.person is not None and choice.person.course_id != course.pk:
            raise ValueError("The person belongs to another course's inventory.")

    existing = {
        focus.area: focus for focus in ProblemAreaFocus.objects.select_for_update().filter(course=course)
    }
    created, updated, deleted = [], [], []
    wanted = {choice.area for choice in chosen}
    for area, focus in existing.items():
        if area in wanted:
            continue
        if focus.goals.exists() or focus.sessions.exists():
            raise FocusInUse(focus)
        focus.delete()
        deleted.append(focus)

    # One primary per course (a unique constraint): clear the flag before setting it.
    for focus in existing.values():
        if focus.pk is not None and focus.is_primary and focus.area != primary.area:
            focus.is_primary = False
            focus.save(update_fields=["is_primary"])

    for choice in chosen:
        focus = existing.get(choice.area)
        is_new = focus is None
        if is_new:
            focus = ProblemAreaFocus(course=course, area=choice.area)
        focus.is_primary = choice is primary
        for name in FOCUS_FIELDS:
            setattr(focus, name, getattr(choice, name))
        focus.full_clean()
        focus.save()
        (created if is_new else updated).append(focus)
        person = choice.person
        if choice.area == ipt.ProblemArea.GRIEF and person is not None and not person.is_deceased:
            # A grief focus is about someone who died (ipt-domain.md §2.1).
            person.is_deceased = True
            person.save(update_fields=["is_deceased"])
            updated.append(person)
    moved = _close_initial_phase_if_done(course)
    return StepResult(tuple(created), tuple(updated), tuple(deleted), moved)


# --- Step 6: the treatment contract and goals -----------------------------------------------------


@transaction.atomic
def course_contract_agree(
    *,
    course: Course,
    planned_sessions: int,
    frequency: str,
    contract_date: date,
    goals: Sequence[Goal],
    deleted_goals: Sequence[Goal] = (),
) -> StepResult:
    """Step 6: the contract (planned sessions, frequency, date) and its goals.

    `goals` are new or changed goals; existing goals not passed are kept as
    they are. Deleted goals must have no reviews. While the initial phase is
    open the planned number may still change; afterwards a change is a
    contract revision with a reason (`course_contract_revise`).
    """
    _require_active(course)
    if course.middle_phase_started_on is not None and planned_sessions != course.planned_sessions:
        raise ValidationError(
            "The initial phase is over: revise the contract (with a reason) to change the planned sessions.",
            code="revision_needed",
        )
    course.planned_sessions = planned_sessions
    course.frequency = frequency
    course.contract_date = contract_date
    course.full_clean()
    course.save(update_fields=["planned_sessions", "frequency", "contract_date"])

    created, updated, deleted = [], [], []
    for goal in deleted_goals:
        if goal.focus.course_id != course.pk:
            raise ValueError("The goal belongs to another course.")
        if goal.reviews.exists():
            raise ValidationError(
                f"“{goal.text}” has been reviewed, so it cannot be deleted.", code="reviewed"
            )
        goal.delete()
        deleted.append(goal)
    for goal in goals:
        if goal.focus.course_id != course.pk:
            raise ValueError("The goal belongs to another course.")
        is_new = goal.pk is None
        goal.full_clean()
        goal.save()
        (created if is_new else updated).append(goal)
    return StepResult(
        tuple(created),
        (course, *updated),
        tuple(deleted),
        moved_to_middle=_close_initial_phase_if_done(course),
    )


# --- Course-level actions -------------------------------------------------------------------------


@transaction.atomic
def course_middle_phase_start(*, course: Course, on: date, reason: str) -> Course:
    """Move the course to the middle phase now.

    Without a reason only when every initial task is done; moving on earlier
    is the therapist's override and its reason is kept on the course.
    """
    _require_active(course)
    if course.middle_phase_started_on is not None:
        raise ValidationError("The course is already in the middle phase.", code="already_middle")
    done = ipt.checklist_complete(ipt.initial_checklist(load_initial_facts(course)))
    if not done and not reason.strip():
        raise ValidationError(
            "Some initial tasks are still missing: give the reason for moving on.", code="reason_required"
        )
    course.middle_phase_started_on = on
    course.middle_phase_override_reason = reason.strip()
    course.full_clean()
    course.save(update_fields=["middle_phase_started_on", "middle_phase_override_reason"])
    return course


def attended_count(course: Course) -> int:
    """Attended (numbered) sessions of the course so far."""
    return course.sessions.filter(attendance=TherapySession.Attendance.ATTENDED).count()


@transaction.atomic
def course_complete(*, course: Course, end_date: date, continuation_decision: str, reason: str) -> Course:
    """Complete the course: after the last planned session, or earlier with a reason."""
    _require_active(course)
    if attended_count(course) < course.planned_sessions and not reason.strip():
        raise ValidationError(
            "The planned sessions are not all done: give the reason for completing now.",
            code="reason_required",
        )
    if continuation_decision not in Course.Continuation.values:
        raise ValidationError("Choose what happens after the course.", code="continuation_required")
    course.status = Course.Status.COMPLETED
    course.end_date = end_date
    course.end_reason = reason.strip()
    course.continuation_decision = continuation_decision
    course.full_clean()
    course.save(update_fields=["status", "end_date", "end_reason", "continuation_decision"])
    return course


@transaction.atomic
def course_discontinue(*, course: Course, end_date: date, reason: str) -> Course:
    """Discontinue the course before its planned end; the reason is required."""
    _require_active(course)
    if not reason.strip():
        raise ValidationError("Give the reason for discontinuing.", code="reason_required")
    course.status = Course.Status.DISCONTINUED
    course.end_date = end_date
    course.end_reason = reason.strip()
    course.full_clean()
    course.save(update_fields=["status", "end_date", "end_reason"])
    return course


@transaction.atomic
def course_contract_revise(
    *, course: Course, planned_sessions: int, reason: str, by: User, on: date
) -> ContractRevision:
    """Renegotiate the planned number of sessions (12–16), keeping the old number and the reason."""
    _require_active(course)
    if not reason.strip():
        raise ValidationError("Give the reason for revising the contract.", code="reason_required")
    if planned_sessions == course.planned_sessions:
        raise ValidationError("The course already plans this many sessions.", code="unchanged")
    held = attended_count(course)
    if planned_sessions < held:
        raise ValidationError(
            f"{held} sessions have already been held: plan at least that many.", code="below_held"
        )
    revision = ContractRevision(
        course=course,
        previous_planned_sessions=course.planned_sessions,
        planned_sessions=planned_sessions,
        reason=reason.strip(),
        revised_by=by,
        revised_on=on,
    )
    course.planned_sessions = planned_sessions
    course.full_clean()  # the 12–16 range, before anything is written
    revision.full_clean()
    revision.save()
    course.save(update_fields=["planned_sessions"])
    return revision
