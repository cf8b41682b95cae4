"""The IPT clinical reference, as data and small pure functions.

Everything the app knows about how an IPT course runs lives here: the phases
and which session falls in which, the four problem areas with their goals and
strategies, the techniques, and what each phase asks of the therapist.
Models, forms and templates read from this module; nothing else restates it.
Substance and sources: shared/reference/ipt-domain.md (§1, §2, §4, §7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import models

# Individual IPT runs 12–16 weekly sessions (ipt-domain.md §1).
MIN_PLANNED_SESSIONS = 12
MAX_PLANNED_SESSIONS = 16
INITIAL_PHASE_SESSIONS = 3
TERMINATION_PHASE_SESSIONS = 3
# Ending is raised 2–4 sessions ahead (ipt-domain.md §1.3).
TERMINATION_PROMPT_REMAINING = 4


class Phase(models.TextChoices):
    INITIAL = "initial", "Initial"
    MIDDLE = "middle", "Middle"
    TERMINATION = "termination", "Termination"
    MAINTENANCE = "maintenance", "Maintenance"


class ProblemArea(models.TextChoices):
    GRIEF = "grief", "Grief"
    ROLE_DISPUTE = "role_dispute", "Role dispute"
    ROLE_TRANSITION = "role_transition", "Role transition"
    INTERPERSONAL_DEFICITS = "interpersonal_deficits", "Interpersonal deficits"


class DisputeStage(models.TextChoices):
    RENEGOTIATION = "renegotiation", "Renegotiation"
    IMPASSE = "impasse", "Impasse"
    DISSOLUTION = "dissolution", "Dissolution"


class Technique(models.TextChoices):
    NONDIRECTIVE_EXPLORATION = "nondirective_exploration", "Non-directive exploration"
    DIRECT_ELICITATION = "direct_elicitation", "Direct elicitation"
    ENCOURAGEMENT_OF_AFFECT = "encouragement_of_affect", "Encouragement of affect"
    CLARIFICATION = "clarification", "Clarification"
    COMMUNICATION_ANALYSIS = "communication_analysis", "Communication analysis"
    DECISION_ANALYSIS = "decision_analysis", "Decision analysis"
    ROLE_PLAY = "role_play", "Role play"
    THERAPEUTIC_RELATIONSHIP = "therapeutic_relationship", "Use of the therapeutic relationship"
    PSYCHOEDUCATION = "psychoeducation", "Psychoeducation"


@dataclass(frozen=True)
class AreaGuide:
    """What IPT aims at and does within one problem area."""

    area: ProblemArea
    when: str
    goals: tuple[str, ...]
    strategies: tuple[tuple[str, str], ...]  # (code, label), codes stored on sessions
    patient_explanation: str


AREA_GUIDES: dict[str, AreaGuide] = {
    ProblemArea.GRIEF: AreaGuide(
        area=ProblemArea.GRIEF,
        when="The episode is linked to the death of someone close.",
        goals=(
            "Facilitate mourning.",
            "Re-establish interests and relationships that can partly substitute for the loss.",
        ),
        strategies=(
            ("grief_express_feelings", "Express feelings about the loss"),
            ("grief_events_of_death", "Review events around the death"),
            ("grief_relationship_review", "Reconstruct the relationship with the deceased"),
            ("grief_new_supports", "Find new supports and direction"),
        ),
        patient_explanation=(
            "Working through the loss of someone who died, and finding ways to carry on "
            "with the people and activities that matter to you."
        ),
    ),
    ProblemArea.ROLE_DISPUTE: AreaGuide(
        area=ProblemArea.ROLE_DISPUTE,
        when="The episode is linked to a relationship with non-reciprocal role expectations.",
        goals=(
            "Identify the dispute.",
            "Choose a plan of action.",
            "Modify communication and/or expectations.",
        ),
        strategies=(
            ("dispute_expectations", "Relate non-reciprocal expectations to the dispute"),
            ("dispute_stage_review", "Review the stage of the dispute"),
            ("dispute_communication_analysis", "Communication analysis of an exchange"),
            ("dispute_options", "Explore options and move from exploration to action"),
        ),
        patient_explanation=(
            "Sorting out a disagreement with someone important to you: what each of you "
            "expects, and how to talk about it so that things can change."
        ),
    ),
    ProblemArea.ROLE_TRANSITION: AreaGuide(
        area=ProblemArea.ROLE_TRANSITION,
        when=(
            "Difficulty coping with a life change (job, relationship status, health, "
            "housing, finances), including positive changes."
        ),
        goals=(
            "Mourn and accept the loss of the old role.",
            "Reach a balanced view of the old and the new role.",
            "Master the demands of the new role to restore self-esteem.",
        ),
        strategies=(
            ("transition_mourn_old", "Mourn and accept the loss of the old role"),
            ("transition_balanced_view", "Balanced view of old and new role"),
            ("transition_mastery", "Build mastery of the new role"),
            ("transition_supports", "Develop skills and social support for the new role"),
        ),
        patient_explanation=(
            "Adjusting to a big change in your life: letting go of what was, and finding "
            "your feet in what is new."
        ),
    ),
    ProblemArea.INTERPERSONAL_DEFICITS: AreaGuide(
        area=ProblemArea.INTERPERSONAL_DEFICITS,
        when="Only when no other problem area applies: social isolation.",
        goals=("Reduce isolation.", "Form new relationships."),
        strategies=(
            ("deficits_therapeutic_model", "Use the therapeutic relationship as a model"),
            ("deficits_build_ties", "Build new relationships"),
            ("deficits_social_skills", "Practise social skills"),
        ),
        patient_explanation=("Feeling less alone: building and keeping up relationships with other people."),
    ),
}

DISPUTE_STAGE_GUIDANCE: dict[str, str] = {
    DisputeStage.RENEGOTIATION: "Both are actively engaged: improve communication.",
    DisputeStage.IMPASSE: "Discussion has stalled: restart negotiation.",
    DisputeStage.DISSOLUTION: "The relationship is ending: help the patient move on.",
}

PHASE_TASKS: dict[str, tuple[str, ...]] = {
    Phase.INITIAL: (
        "Review symptoms and measure severity (PHQ-9)",
        "Psychoeducation and the sick role",
        "Assess the need for medication",
        "Interpersonal inventory",
        "Choose the problem area(s)",
        "Share the formulation and get the patient's agreement",
        "Agree the treatment contract and goals",
    ),
    Phase.MIDDLE: (
        "Ask how the patient has been since the last session",
        "Link mood to interpersonal events",
        "Work on the agreed problem area",
        "Use at least one IPT technique",
        "Review and set the between-session task",
        "Repeat the PHQ-9",
        "Mention the sessions remaining",
    ),
    Phase.TERMINATION: (
        "Discuss the ending",
        "Explore feelings about ending",
        "Review progress and credit gains to the patient",
        "Plan for relapse: warning signs and coping",
        "Decide on continuation, maintenance or referral",
    ),
    Phase.MAINTENANCE: (
        "Review mood and interpersonal functioning",
        "Revisit warning signs and the coping plan",
    ),
}

# Plain-language text for the patient portal: no jargon, second person, warm.
# Each phase has a short name the patient sees as a heading.
PHASE_NAME_FOR_PATIENTS: dict[str, str] = {
    Phase.INITIAL: "Getting started",
    Phase.MIDDLE: "Working on it",
    Phase.TERMINATION: "Finishing well",
    Phase.MAINTENANCE: "Staying well",
}

PHASE_FOR_PATIENTS: dict[str, tuple[str, str]] = {
    # phase: (what this phase is for, what comes next)
    Phase.INITIAL: (
        "You and your therapist look at how you have been feeling, talk about the important "
        "people in your life, and agree together what to focus on.",
        "Next, you will work on what you agreed together, week by week.",
    ),
    Phase.MIDDLE: (
        "Each week you look at what has happened with the people in your life and how it "
        "affected your mood, and try out new ways of handling things.",
        "Towards the end, you will look back at your progress together and plan how to keep well.",
    ),
    Phase.TERMINATION: (
        "You look back at what has changed, what you did to make it happen, and how to keep "
        "well once the sessions end.",
        "After your last session, you and your therapist will decide together whether any more "
        "support would help.",
    ),
    Phase.MAINTENANCE: (
        "Occasional sessions to help you hold on to the progress you have made.",
        "You and your therapist will agree together how often to meet.",
    ),
}


def default_phase(number: int, planned_sessions: int, *, initial_closed: bool = False) -> Phase:
    """Return the phase session `number` falls in for a course of `planned_sessions`.

    Initial = sessions 1–3, termination = the last three planned sessions,
    middle = between them, maintenance = anything after the planned course.
    Once the initial phase is closed (its tasks done, or the therapist moved
    on early), no later session defaults to initial.
    """
    if number < 1:
        raise ValueError(f"Session numbers start at 1, got {number}.")
    if number > planned_sessions:
        return Phase.MAINTENANCE
    if number <= INITIAL_PHASE_SESSIONS and not initial_closed:
        return Phase.INITIAL
    if number > planned_sessions - TERMINATION_PHASE_SESSIONS:
        return Phase.TERMINATION
    return Phase.MIDDLE


def strategy_choices(areas: list[str]) -> list[tuple[str, str]]:
    """The strategies of the given problem areas, as form choices."""
    return [choice for area in areas for choice in AREA_GUIDES[area].strategies]


def strategy_label(code: str) -> str:
    """Human label of a strategy code; the code itself if unknown."""
    for guide in AREA_GUIDES.values():
        for strategy_code, label in guide.strategies:
            if strategy_code == code:
                return label
    return code


def focus_warnings(areas: list[str]) -> list[str]:
    """Warnings (not errors) about a course's chosen problem areas."""
    warnings = []
    if len(areas) > 2:
        warnings.append("IPT focuses on one problem area, two at most: consider narrowing the focus.")
    if ProblemArea.INTERPERSONAL_DEFICITS in areas and len(set(areas)) > 1:
        warnings.append(
            "Interpersonal deficits is chosen only when no other area applies; another area is recorded too."
        )
    return warnings


# --- Next actions ----------------------------------------------------------------

# An active course with no attended session for this long is overdue.
OVERDUE_AFTER_DAYS = 14
# A session note is due to be signed within this many hours of the session.
SIGN_NOTES_WITHIN_HOURS = 48


def unsigned_note_late_before(today: date) -> date:
    """Notes of sessions dated before this day are late if still unsigned.

    Sessions carry a date but no time, so a note's age is counted from the end
    of its session's day: the dashboard never calls a note late too early.
    """
    return today - timedelta(days=SIGN_NOTES_WITHIN_HOURS // 24)


@dataclass(frozen=True)
class CourseState:
    """The facts about one active course that next actions are computed from."""

    planned_sessions: int
    sessions_done: int
    inventory_count: int
    has_primary_focus: bool
    item9_unresolved: bool
    unsigned_count: int
    ending_discussed: bool
    maintenance_agreed: bool
    last_session_on: date | None
    start_date: date
    today: date


@dataclass(frozen=True)
class NextAction:
    code: str
    text: str
    level: str  # "danger", "warning" or "info": how urgent, for display


def sessions_remaining(planned_sessions: int, sessions_done: int) -> int:
    return max(planned_sessions - sessions_done, 0)


def next_actions(state: CourseState) -> list[NextAction]:
    """What the therapist should do next for an active course, most urgent first."""
    actions = []
    if state.item9_unresolved:
        actions.append(NextAction("risk_check", "PHQ-9 item 9 positive: record a risk check", "danger"))
    last_contact = state.last_session_on or state.start_date
    idle_days = (state.today - last_contact).days
    if idle_days >= OVERDUE_AFTER_DAYS:
        actions.append(NextAction("overdue", f"No session in {idle_days} days", "warning"))
    if state.unsigned_count:
        plural = "s" if state.unsigned_count > 1 else ""
        actions.append(NextAction("unsigned", f"{state.unsigned_count} unsigned note{plural}", "warning"))
    if state.sessions_done > state.planned_sessions and not state.maintenance_agreed:
        actions.append(
            NextAction("renegotiate", "Planned sessions exceeded: renegotiate the contract", "warning")
        )
    elif state.sessions_done == state.planned_sessions:
        actions.append(NextAction("complete", "All planned sessions done: complete the course", "info"))
    if state.sessions_done >= 1 and state.inventory_count == 0:
        actions.append(NextAction("inventory", "Interpersonal inventory not started", "info"))
    if state.sessions_done >= INITIAL_PHASE_SESSIONS and not state.has_primary_focus:
        actions.append(
            NextAction(
                "problem_area",
                f"No problem area chosen by session {INITIAL_PHASE_SESSIONS}",
                "warning",
            )
        )
    remaining = sessions_remaining(state.planned_sessions, state.sessions_done)
    if 0 < remaining <= TERMINATION_PROMPT_REMAINING and not state.ending_discussed:
        plural = "s" if remaining > 1 else ""
        actions.append(
            NextAction("termination", f"{remaining} session{plural} left: raise termination", "info")
        )
    return actions


# --- Phase checklist ---------------------------------------------------------------
# What each phase asks for (PHASE_TASKS), marked done or missing from the facts
# of a course. Pure functions: callers gather the facts (without extra queries).

# One code per initial task, in PHASE_TASKS[Phase.INITIAL] order.
INITIAL_TASK_CODES: tuple[str, ...] = (
    "symptoms",
    "psychoeducation",
    "medication",
    "inventory",
    "problem_area",
    "formulation",
    "contract",
)
TERMINATION_TASK_CODES: tuple[str, ...] = (
    "ending_discussed",
    "feelings_about_ending",
    "gains",
    "relapse_plan",
    "continuation",
)
MIDDLE_TASK_CODES: tuple[str, ...] = (
    "since_last",
    "link_mood",
    "problem_area_work",
    "technique",
    "task",
    "phq9",
    "sessions_remaining",
)
MAINTENANCE_TASK_CODES: tuple[str, ...] = ("review_mood", "warning_signs")


@dataclass(frozen=True)
class ChecklistItem:
    code: str
    task: str
    # None: the app holds no record of this task; it is a reminder only.
    done: bool | None


@dataclass(frozen=True)
class GoalCoverage:
    """How many goals each chosen problem area has."""

    counts: dict[str, int]

    @property
    def missing(self) -> tuple[str, ...]:
        """Chosen areas with no goal yet."""
        return tuple(area for area, count in self.counts.items() if count == 0)

    @property
    def complete(self) -> bool:
        """At least one area is chosen and every chosen area has a goal."""
        return bool(self.counts) and not self.missing


def goal_coverage(areas: list[str], goal_areas: list[str]) -> GoalCoverage:
    """Goals per chosen area: the contract needs at least one goal for each area.

    `areas` are the course's problem areas, `goal_areas` the area of each goal
    (goals of areas no longer chosen are ignored).
    """
    return GoalCoverage(counts={area: goal_areas.count(area) for area in dict.fromkeys(areas)})


@dataclass(frozen=True)
class InitialFacts:
    """The facts about a course that the initial-phase checklist is computed from."""

    has_baseline_phq9: bool
    psychoeducation_done: bool
    medication_reviewed: bool
    inventory_count: int
    has_primary_focus: bool
    formulation_written: bool
    formulation_shared: bool
    formulation_agreed: bool
    contract_agreed: bool
    goal_coverage: GoalCoverage


def _checklist(
    phase: Phase, codes: tuple[str, ...], done: dict[str, bool | None]
) -> tuple[ChecklistItem, ...]:
    tasks = PHASE_TASKS[phase]
    if len(tasks) != len(codes):
        raise AssertionError(f"PHASE_TASKS[{phase}] and its task codes are out of step.")
    return tuple(ChecklistItem(code, task, done[code]) for code, task in zip(codes, tasks, strict=True))


def initial_checklist(facts: InitialFacts) -> tuple[ChecklistItem, ...]:
    """The initial-phase tasks (ipt-domain.md §1.1), each done or missing."""
    return _checklist(
        Phase.INITIAL,
        INITIAL_TASK_CODES,
        {
            "symptoms": facts.has_baseline_phq9,
            "psychoeducation": facts.psychoeducation_done,
            "medication": facts.medication_reviewed,
            "inventory": facts.inventory_count > 0,
            "problem_area": facts.has_primary_focus,
            # Shared and explicitly accepted by the patient (ipt-domain.md §1.1 item 7).
            "formulation": (
                facts.formulation_written and facts.formulation_shared and facts.formulation_agreed
            ),
            "contract": facts.contract_agreed and facts.goal_coverage.complete,
        },
    )


@dataclass(frozen=True)
class MiddleSessionFacts:
    """What one middle-phase session recorded."""

    events_recorded: bool
    people_linked: bool
    strategies_used: bool
    techniques_used: bool
    task_set: bool
    phq9_recorded: bool


@dataclass(frozen=True)
class TerminationFacts:
    ending_discussed: bool
    feelings_recorded: bool
    gains_recorded: bool
    relapse_plan_recorded: bool
    continuation_decided: bool


def middle_checklist(facts: MiddleSessionFacts) -> tuple[ChecklistItem, ...]:
    """The middle-phase tasks of one session (ipt-domain.md §1.2), each done or missing."""
    return _checklist(
        Phase.MIDDLE,
        MIDDLE_TASK_CODES,
        {
            "since_last": facts.events_recorded,
            "link_mood": facts.people_linked,
            "problem_area_work": facts.strategies_used,
            "technique": facts.techniques_used,
            "task": facts.task_set,
            "phq9": facts.phq9_recorded,
            # Said aloud in the session; nothing is recorded for it.
            "sessions_remaining": None,
        },
    )


def termination_checklist(facts: TerminationFacts) -> tuple[ChecklistItem, ...]:
    """The termination-phase tasks (ipt-domain.md §1.3), each done or missing."""
    return _checklist(
        Phase.TERMINATION,
        TERMINATION_TASK_CODES,
        {
            "ending_discussed": facts.ending_discussed,
            "feelings_about_ending": facts.feelings_recorded,
            "gains": facts.gains_recorded,
            "relapse_plan": facts.relapse_plan_recorded,
            "continuation": facts.continuation_decided,
        },
    )


def maintenance_checklist() -> tuple[ChecklistItem, ...]:
    """Maintenance tasks: reminders, as the app records nothing specific for them."""
    return _checklist(Phase.MAINTENANCE, MAINTENANCE_TASK_CODES, dict.fromkeys(MAINTENANCE_TASK_CODES))


def checklist_complete(items: tuple[ChecklistItem, ...]) -> bool:
    """Every recorded task is done (reminders do not count)."""
    return all(item.done for item in items if item.done is not None)


def current_phase(last_session_phase: str | None, *, initial_closed: bool) -> Phase:
    """The phase a course is in now: its latest attended session's, else initial.

    Once the initial phase is closed, a course whose latest session was still
    an initial one is in the middle phase.
    """
    if last_session_phase is None or last_session_phase == Phase.INITIAL:
        return Phase.MIDDLE if initial_closed else Phase.INITIAL
    return Phase(last_session_phase)


# --- The patient portal ------------------------------------------------------------
# Everything a patient reads about their course, in plain words (second person, no
# IPT terms). Codes of model choices are spelled out as strings: models import
# this module, not the other way round.

# The problem areas under everyday names (after WHO Group IPT's plain-language
# names: grief, disputes, life changes, loneliness). The one-line explanation
# is AREA_GUIDES[area].patient_explanation.
AREA_NAME_FOR_PATIENTS: dict[str, str] = {
    ProblemArea.GRIEF: "Losing someone close",
    ProblemArea.ROLE_DISPUTE: "Getting along with someone important",
    ProblemArea.ROLE_TRANSITION: "Life changes",
    ProblemArea.INTERPERSONAL_DEFICITS: "Feeling connected to people",
}

# How a between-session task went (TherapySession.TaskOutcome codes).
TASK_OUTCOME_FOR_PATIENTS: dict[str, str] = {
    "done": "Done",
    "partly": "Partly done",
    "not_done": "Not done this time",
    "n_a": "No longer needed",
}

# What was agreed at the end of the course (Course.Continuation codes).
CONTINUATION_FOR_PATIENTS: dict[str, str] = {
    "none": "You and your therapist agreed that you do not need more sessions for now.",
    "maintenance": "You and your therapist agreed to keep meeting now and then, to help you stay well.",
    "referral": "Your therapist is arranging further support for you with another service.",
    "other_treatment": "You and your therapist agreed to try a different kind of help.",
}

COURSE_ENDED_FOR_PATIENTS: dict[str, tuple[str, str]] = {
    # course status: (what happened, what comes next when nothing more specific was agreed)
    "completed": (
        "You have finished your course of therapy. Well done for all the work you put in.",
        "If things start to slip, look at your plan for staying well, and contact the clinic "
        "or your GP if you need to.",
    ),
    "discontinued": (
        "Your course of therapy has ended.",
        "If you would like support again, contact the clinic or your GP.",
    ),
}


@dataclass(frozen=True)
class PatientPosition:
    """Where a patient is in their course, in plain words for the portal."""

    status: str  # the course's status: "active", "completed" or "discontinued"
    planned_sessions: int
    sessions_done: int
    phase: Phase | None  # None once the course has ended
    phase_name: str
    purpose: str  # what this part of the course is for
    next_step: str  # what comes next
    sessions_left: str

    @property
    def has_started(self) -> bool:
        return self.sessions_done > 0

    @property
    def has_ended(self) -> bool:
        return self.status != "active"


def sessions_left_for_patients(planned_sessions: int, sessions_done: int) -> str:
    """How many sessions are left of an active course ("5 sessions to go"), in plain words."""
    if sessions_done == 0:
        return f"{planned_sessions} sessions are planned."
    remaining = planned_sessions - sessions_done
    if remaining > 1:
        return f"{remaining} sessions to go."
    if remaining == 1:
        return "One planned session to go."
    if remaining == 0:
        return "You have had all your planned sessions."
    return "Your planned sessions are done; these extra sessions help you keep well."


def patient_position(
    *,
    status: str,
    planned_sessions: int,
    sessions_done: int,
    last_session_phase: str | None,
    initial_closed: bool,
    continuation: str = "",
) -> PatientPosition:
    """The portal's "My therapy": session k of N, the phase, what it is for and what comes next.

    Before the first session the course is in its initial phase ("getting
    started"); once it has ended there is no phase, and what comes next is
    what was agreed at the end (the continuation decision) if anything was.
    """
    if status in COURSE_ENDED_FOR_PATIENTS:
        what, next_step = COURSE_ENDED_FOR_PATIENTS[status]
        return PatientPosition(
            status=status,
            planned_sessions=planned_sessions,
            sessions_done=sessions_done,
            phase=None,
            phase_name="Course finished" if status == "completed" else "Course ended",
            purpose=what,
            next_step=CONTINUATION_FOR_PATIENTS.get(continuation, next_step),
            sessions_left="",
        )
    phase = current_phase(last_session_phase, initial_closed=initial_closed)
    purpose, next_step = PHASE_FOR_PATIENTS[phase]
    return PatientPosition(
        status=status,
        planned_sessions=planned_sessions,
        sessions_done=sessions_done,
        phase=phase,
        phase_name=PHASE_NAME_FOR_PATIENTS[phase],
        purpose=purpose,
        next_step=next_step,
        sessions_left=sessions_left_for_patients(planned_sessions, sessions_done),
    )
