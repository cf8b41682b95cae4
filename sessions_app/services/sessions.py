"""Writing therapy sessions: create, update, sign, and addenda to signed sessions.

Three guarantees live here rather than in views or forms:

* **Numbers**: an attended session gets max(number) + 1 while the course row
  is locked (SELECT ... FOR UPDATE), so concurrent saves never share a number;
  cancelled and no-show sessions get none.
* **No silent overwrite**: an update names the version it was based on and is
  refused with `VersionConflict` if the stored row has moved on.
* **Idempotent create**: the new-session form carries a submission key; a
  second submit of the same form returns the first session.

A signed session is locked by the model layer too (`SignedSessionLocked`);
the service refuses before writing anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from sessions_app import measures
from sessions_app.models import (
    Course,
    Goal,
    GoalReview,
    MeasureResponse,
    ProblemAreaFocus,
    RelationshipEntry,
    SessionAddendum,
    SignedSessionLocked,
    TherapySession,
    User,
)

Attendance = TherapySession.Attendance

# A session may be logged the evening before in another time zone, never later.
MAX_DAYS_AHEAD = 1

# Course fields the termination part of the session form may write.
TERMINATION_FIELDS = (
    "ending_discussed_on",
    "feelings_about_ending",
    "gains",
    "relapse_warning_signs",
    "coping_plan",
    "continuation_decision",
)

# Session fields that only an attended session carries; a cancelled or no-show
# record keeps date, duration, modality, attendance and a short note.
CLINICAL_FIELDS = (
    "phase_override_reason",
    "strategies",
    "techniques",
    "dispute_stage",
    "task_type",
    "task_text",
    "last_task_outcome",
    "risk_ideation",
    "risk_plan",
    "risk_intent",
    "safety_plan",
    "risk_action_taken",
    "private_note",
)


# --- Input and outcomes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureAnswers:
    """The item answers (0–3 each) of one questionnaire, and the optional difficulty item."""

    items: list[int]
    difficulty: int | None = None


@dataclass(frozen=True)
class GoalReviewEntry:
    """Progress on one goal this session; a blank progress means "not reviewed"."""

    goal: Goal
    progress: str = ""
    note: str = ""


@dataclass(frozen=True)
class SessionInput:
    """Everything the session form collects, already validated field by field."""

    date: date
    duration_minutes: int
    modality: str
    attendance: str
    events_since_last: str = ""
    phase: str = ""
    phase_override_reason: str = ""
    foci: Sequence[ProblemAreaFocus] = ()
    strategies: Sequence[str] = ()
    techniques: Sequence[str] = ()
    dispute_stage: str = ""
    people_discussed: Sequence[RelationshipEntry] = ()
    joint_attendees: Sequence[RelationshipEntry] = ()
    task_type: str = ""
    task_text: str = ""
    last_task_outcome: str = ""
    risk_ideation: str = ""
    risk_plan: bool | None = None
    risk_intent: bool | None = None
    safety_plan: str = ""
    risk_action_taken: str = ""
    private_note: str = ""
    phq9: MeasureAnswers | None = None
    gad7: MeasureAnswers | None = None
    goal_reviews: Sequence[GoalReviewEntry] = ()
    # Termination fields of the course that changed in this form (TERMINATION_FIELDS only).
    course_changes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def attended(self) -> bool:
        return self.attendance == Attendance.ATTENDED


class VersionConflict(Exception):
    """The session changed since the form was opened; `stored` is what is saved now."""

    def __init__(self, stored: TherapySession) -> None:
        super().__init__(f"{stored} is at version {stored.version}.")
        self.stored = stored


@dataclass(frozen=True)
class SignBlocker:
    """One reason a session cannot be signed yet, and the form field it concerns."""

    field: str
    message: str


class SignBlocked(ValidationError):
    """Signing was refused; nothing was saved."""

    def __init__(self, blockers: Sequence[SignBlocker]) -> None:
        errors: dict[str, list[str]] = {}
        for blocker in blockers:
            errors.setdefault(blocker.field, []).append(blocker.message)
        super().__init__(errors)
        self.blockers = list(blockers)


# --- Rules -----------------------------------------------------------------------------------------------

ITEM9_RISK_MESSAGE = (
    "PHQ-9 item 9 (thoughts of being better off dead or of self-harm) is above 0: "
    "record a risk check before signing."
)


def sign_blockers(session: TherapySession, *, phq9: MeasureResponse | None) -> list[SignBlocker]:
    """What stops `session` from being signed; an empty list means it may be signed.

    PHQ-9 item 9 above 0 requires a recorded risk assessment before sign-off
    (DESIGN.md §4; ipt-domain.md §5.2: a positive answer raises the risk of an
    attempt). `phq9` is the session's PHQ-9, or None if none was taken.
    """
    blockers = []
    if phq9 is not None and phq9.item9_positive and not session.risk_ideation:
        blockers.append(SignBlocker("risk_ideation", ITEM9_RISK_MESSAGE))
    return blockers


def session_date_error(course: Course, on: date, *, today: date | None = None) -> str | None:
    """Why `on` cannot be a session date of `course`, or None if it can."""
    today = today or timezone.localdate()
    if on > today + timedelta(days=MAX_DAYS_AHEAD):
        return "A session cannot be dated in the future."
    if on < course.start_date:
        return f"The course started on {course.start_date:%d %b %Y}; a session cannot be earlier."
    return None


def next_session_number(course: Course) -> int:
    """The number the next attended session of `course` takes (lock the course first when writing)."""
    highest = TherapySession.objects.filter(course=course).aggregate(n=Max("number"))["n"]
    return (highest or 0) + 1


# --- Services --------------------------------------------------------------------------------------------


@transaction.atomic
def session_create(
    *,
    course: Course,
    data: SessionInput,
    by_user: User,
    submission_key: uuid.UUID | None = None,
    sign: bool = False,
) -> tuple[TherapySession, bool]:
    """Record a new session of `course`; return (session, created).

    A second call with the same `submission_key` returns the session the first
    call made (created=False) instead of making another: a double-clicked or
    resubmitted form saves once.
    """
    locked = _lock_course(course)
    if submission_key is not None:
        existing = TherapySession.objects.filter(course=locked, submission_key=submission_key).first()
        if existing is not None:
            return existing, False
    _require_active(locked)

    session = TherapySession(course=locked, submission_key=submission_key)
    _apply_fields(session, data, course=locked)
    session.full_clean()
    try:
        # A savepoint, so a lost race on the submission key leaves the
        # surrounding transaction usable for the lookup below.
        with transaction.atomic():
            session.save()
    except IntegrityError:
        existing = (
            TherapySession.objects.filter(course=locked, submission_key=submission_key).first()
            if submission_key is not None
            else None
        )
        if existing is None:
            raise
        return existing, False

    phq9 = _write_related(session, data, course=locked, by_user=by_user, created=True)
    if sign:
        _sign(session, phq9=phq9, by_user=by_user)
    return session, True


@transaction.atomic
def session_update(
    *,
    session: TherapySession,
    data: SessionInput,
    by_user: User,
    expected_version: int,
    sign: bool = False,
) -> TherapySession:
    """Save changes to a draft session that was opened at `expected_version`.

    Raises `VersionConflict` if someone saved the session in between (never a
    silent overwrite), and `SignedSessionLocked` if it has been signed.
    """
    locked_course = _lock_course(session.course)
    stored = TherapySession.objects.select_for_update().get(pk=session.pk)
    if stored.is_signed:
        raise SignedSessionLocked(stored)
    if stored.version != expected_version:
        raise VersionConflict(stored)
    _require_active(locked_course)

    stored.course = locked_course
    _apply_fields(stored, data, course=locked_course)
    stored.version += 1
    stored.full_clean()
    stored.save()
    phq9 = _write_related(stored, data, course=locked_course, by_user=by_user, created=False)
    if sign:
        _sign(stored, phq9=phq9, by_user=by_user)
    return stored


@transaction.atomic
def addendum_create(*, session: TherapySession, author: User, text: str) -> SessionAddendum:
    """Add a correction or addition to a signed session (the note itself never changes)."""
    stored = TherapySession.objects.get(pk=session.pk)
    if not stored.is_signed:
        raise ValidationError("Only a signed session takes addenda: edit the draft instead.")
    addendum = SessionAddendum(session=stored, author=author, text=text.strip())
    addendum.full_clean()
    addendum.save()
    return addendum


# --- Internals -------------------------------------------------------------------------------------------


def _lock_course(course: Course) -> Course:
    # Every write to a course's sessions takes this lock first (one lock order:
    # course, then session), which serialises numbering on PostgreSQL.
    return (
        Course.objects.select_for_update(of=("self",))
        .select_related("patient", "therapist")
        .get(pk=course.pk)
    )


def _require_active(course: Course) -> None:
    if course.status != Course.Status.ACTIVE:
        raise ValidationError(
            f"This course is {course.get_status_display().lower()}: sessions can no longer be changed."
        )


def _numbered_neighbours(session: TherapySession) -> tuple[TherapySession | None, TherapySession | None]:
    """The attended sessions just before and just after `session` by number."""
    others = TherapySession.objects.filter(course_id=session.course_id, number__isnull=False).exclude(
        pk=session.pk
    )
    if session.number is None:
        return others.order_by("-number").first(), None
    before = others.filter(number__lt=session.number).order_by("-number").first()
    after = others.filter(number__gt=session.number).order_by("number").first()
    return before, after


BEYOND_CONTRACT_MESSAGE = (
    "The contract plans {planned} sessions and all have been held: revise the contract (with a reason) "
    "before logging session {number}, or record maintenance IPT as the continuation decision."
)


def _refuse_beyond_contract(course: Course, number: int) -> None:
    # IPT is time-limited by contract: going past the agreed number is a
    # decision made with the patient and recorded, never a side effect of
    # logging one more session. Agreed maintenance sessions follow the course.
    if number > course.planned_sessions and course.continuation_decision != Course.Continuation.MAINTENANCE:
        raise ValidationError(
            BEYOND_CONTRACT_MESSAGE.format(planned=course.planned_sessions, number=number),
            code="beyond_contract",
        )


def _apply_fields(session: TherapySession, data: SessionInput, *, course: Course) -> None:
    """Set the session's own fields from `data`, numbering it; raise ValidationError on a rule broken."""
    if data.course_changes.keys() - set(TERMINATION_FIELDS):
        raise ValueError(f"Only {', '.join(TERMINATION_FIELDS)} may change on the course here.")
    error = session_date_error(course, data.date)
    if error:
        raise ValidationError({"date": error})
    was_attended = session.pk is not None and session.number is not None

    session.date = data.date
    session.duration_minutes = data.duration_minutes
    session.modality = data.modality
    session.attendance = data.attendance
    session.events_since_last = data.events_since_last

    if data.attended:
        if not was_attended:
            session.number = next_session_number(course)
            _refuse_beyond_contract(course, session.number)
        # Numbers follow dates: a session sits between its numbered neighbours.
        before, after = _numbered_neighbours(session)
        if before is not None and data.date < before.date:
            raise ValidationError({"date": f"{before}: this session cannot be dated before it."})
        if after is not None and data.date > after.date:
            raise ValidationError({"date": f"{after}: this session cannot be dated after it."})
        default = course.default_phase_for(session.number)
        if data.phase != default and not data.phase_override_reason.strip():
            raise ValidationError(
                {
                    "phase_override_reason": (
                        f"Session {session.number} is in the {default.label.lower()} phase by default: "
                        "say why this session is in another phase."
                    )
                }
            )
        session.phase = data.phase
        # A reason only means something when the phase differs from the rule.
        session.phase_override_reason = data.phase_override_reason.strip() if data.phase != default else ""
        session.strategies = list(data.strategies)
        session.techniques = list(data.techniques)
        for name in CLINICAL_FIELDS:
            if name not in ("phase_override_reason", "strategies", "techniques"):
                setattr(session, name, getattr(data, name))
    else:
        if was_attended:
            _, after = _numbered_neighbours(session)
            if after is not None:
                raise ValidationError(
                    {"attendance": f"{after} is already numbered after this one, so this stays attended."}
                )
        session.number = None
        # An unnumbered session sits in the phase the course is in.
        session.phase = course.default_phase_for(next_session_number(course))
        for name in CLINICAL_FIELDS:
            setattr(session, name, TherapySession._meta.get_field(name).get_default())
        session.strategies, session.techniques = [], []


def _write_related(
    session: TherapySession, data: SessionInput, *, course: Course, by_user: User, created: bool
) -> MeasureResponse | None:
    """Links, questionnaires, goal reviews and the course's termination fields; return the PHQ-9."""
    session.foci.set(data.foci if data.attended else [])
    session.people_discussed.set(data.people_discussed if data.attended else [])
    session.joint_attendees.set(data.joint_attendees if data.attended else [])

    # A new session has no questionnaires or reviews yet: no need to look.
    existing = {} if created else {m.instrument: m for m in MeasureResponse.objects.filter(session=session)}
    saved: dict[str, MeasureResponse] = {}
    for instrument, answers in ((measures.Instrument.PHQ9, data.phq9), (measures.Instrument.GAD7, data.gad7)):
        response = existing.get(instrument)
        if answers is None or not data.attended:
            if response is not None:
                response.delete()
            continue
        if response is None:
            response = MeasureResponse(instrument=instrument)
        # The locked rows, so clean() checks ownership without loading them again.
        response.patient, response.course, response.session = course.patient, course, session
        response.items = list(answers.items)
        response.difficulty = answers.difficulty
        response.taken_on = session.date
        response.recorded_by = by_user
        response.full_clean()
        response.save()
        saved[instrument] = response

    reviews = {} if created else {r.goal_id: r for r in GoalReview.objects.filter(session=session)}
    for entry in data.goal_reviews:
        if entry.goal.focus.course_id != course.pk:
            raise ValueError(f"Goal {entry.goal.pk} belongs to another course.")
        review = reviews.get(entry.goal.pk)
        if not entry.progress or not data.attended:
            if review is not None:
                review.delete()
            continue
        if review is None:
            review = GoalReview(goal=entry.goal)
        review.session = session
        review.progress, review.note = entry.progress, entry.note.strip()
        review.full_clean()
        review.save()
    if not data.attended and not created:
        GoalReview.objects.filter(session=session).delete()

    if data.attended and data.course_changes:
        for name, value in data.course_changes.items():
            setattr(course, name, value)
        # Validate what changed; the rest of the course is not this form's business.
        course.full_clean(exclude=[f.name for f in Course._meta.fields if f.name not in data.course_changes])
        course.save(update_fields=list(data.course_changes))
    return saved.get(measures.Instrument.PHQ9)


def _sign(session: TherapySession, *, phq9: MeasureResponse | None, by_user: User) -> None:
    blockers = sign_blockers(session, phq9=phq9)
    if blockers:
        # Raising rolls back the whole save: the form comes back with everything typed.
        raise SignBlocked(blockers)
    session.signed_at = timezone.now()
    session.signed_by = by_user
    session.save(update_fields=["signed_at", "signed_by", "updated_at"])
