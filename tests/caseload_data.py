"""A hand-built clinic caseload for the dashboard tests, with every expected figure worked out by hand.

Dates are relative to today (T). Therapist A is the `therapist` persona, B the
`other_therapist`; a second clinic has a course of its own that must never be
counted or shown.

Active courses (7):
  A1 A, 5 signed sessions, last T-20: overdue; middle; grief; GAD-7 5 → 9 (reliably worse)
  A2 A, 2 signed sessions, last T-3; PHQ-9 item 9 positive at T-3 with no risk check; initial;
     role dispute + role transition
  A3 A, 4 sessions T-24, T-17 (signed), T-3 and T-2 (unsigned: only T-3 is late); middle; role transition
  A4 A, no session, started T-20: overdue; initial; no area
  B1 B, 10 signed sessions of 12, last T-7: termination; role dispute; PHQ-9 10 → 16 (reliably worse)
  B2 B, 13 signed sessions of 12, last T-7, no maintenance agreed: past plan; maintenance;
     interpersonal deficits
  B3 B, 13 signed sessions of 12, last T-7, maintenance agreed: not past plan; maintenance; no area
Ended courses:
  C1 A completed T-30, PHQ-9 20 → 8, grief; two unsigned sessions at T-40 and T-35 (late)
  C2 A completed T-60, PHQ-9 12 → 4, role transition
  C3 B completed T-100, PHQ-9 9 → 16, role dispute
  C4 B completed T-10, one PHQ-9 (11) only, role dispute
  C5 B completed T-20, no PHQ-9, no area
  C6 A completed T-400 (outside the default 12 months), PHQ-9 20 → 2, grief
  D1 A discontinued T-15
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from sessions_app import ipt, measures
from sessions_app.models import Course
from tests import factories

A = ipt.ProblemArea


def today() -> dt.date:
    return timezone.localdate()


def days_ago(n: int) -> dt.date:
    return today() - dt.timedelta(days=n)


def items(instrument: str, total: int, item9: int = 0) -> list[int]:
    """Answers adding up to `total` (item 9 of the PHQ-9 as given)."""
    count = len(measures.ITEMS[instrument])
    answers = [0] * count
    free = count - 1 if instrument == measures.Instrument.PHQ9 else count
    remaining = total - item9
    for i in range(free):
        answers[i] = min(measures.MAX_ITEM, remaining)
        remaining -= answers[i]
    assert remaining == 0, "total out of range"
    if instrument == measures.Instrument.PHQ9:
        answers[measures.ITEM9_INDEX] = item9
    return answers


def make_course(
    therapist,
    family: str,
    *,
    given: str = "Pat",
    planned: int = 12,
    status: str = Course.Status.ACTIVE,
    start_days_ago: int = 120,
    end_days_ago: int | None = None,
    sessions: list[tuple[int, bool]] = (),  # (days ago, signed), numbered in order
    phq9: list[tuple[int, int]] = (),  # (days ago, total)
    gad7: list[tuple[int, int]] = (),
    item9_days_ago: int | None = None,
    areas: tuple[str, ...] = (),
    **fields,
) -> Course:
    patient = factories.PatientFactory(
        clinic=therapist.clinic, therapist=therapist, given_name=given, family_name=family
    )
    if end_days_ago is not None:
        fields["end_date"] = days_ago(end_days_ago)
    course = factories.CourseFactory(
        patient=patient,
        planned_sessions=planned,
        status=status,
        start_date=days_ago(start_days_ago),
        **fields,
    )
    for number, (ago, signed) in enumerate(sessions, start=1):
        factory = factories.SignedTherapySessionFactory if signed else factories.TherapySessionFactory
        factory(course=course, number=number, date=days_ago(ago))
    for ago, total in phq9:
        factories.MeasureResponseFactory(course=course, items=items("phq9", total), taken_on=days_ago(ago))
    for ago, total in gad7:
        factories.MeasureResponseFactory(
            course=course, instrument="gad7", items=items("gad7", total), taken_on=days_ago(ago)
        )
    if item9_days_ago is not None:
        factories.MeasureResponseFactory(
            course=course, items=items("phq9", 12, item9=1), taken_on=days_ago(item9_days_ago)
        )
    for index, area in enumerate(areas):
        extra = {"dispute_stage": ipt.DisputeStage.IMPASSE, "old_role": "", "new_role": ""}
        factories.ProblemAreaFocusFactory(
            course=course, area=area, is_primary=index == 0, **(extra if area == A.ROLE_DISPUTE else {})
        )
    return course


def weekly(count: int, last_days_ago: int, signed: bool = True) -> list[tuple[int, bool]]:
    return [(last_days_ago + 7 * (count - 1 - i), signed) for i in range(count)]


def build(a, b, foreign) -> dict[str, Course]:
    """The caseload described in the module docstring; `foreign` is a therapist of another clinic."""
    completed = Course.Status.COMPLETED
    courses = {
        "A1": make_course(a, "Ames", sessions=weekly(5, 20), gad7=[(48, 5), (20, 9)], areas=(A.GRIEF,)),
        "A2": make_course(
            a, "Ashby", sessions=weekly(2, 3), item9_days_ago=3, areas=(A.ROLE_DISPUTE, A.ROLE_TRANSITION)
        ),
        "A3": make_course(
            a, "Atwood", sessions=[(24, True), (17, True), (3, False), (2, False)], areas=(A.ROLE_TRANSITION,)
        ),
        "A4": make_course(a, "Avery", start_days_ago=20),
        "B1": make_course(
            b, "Baker", sessions=weekly(10, 7), phq9=[(70, 10), (7, 16)], areas=(A.ROLE_DISPUTE,)
        ),
        "B2": make_course(b, "Banks", sessions=weekly(13, 7), areas=(A.INTERPERSONAL_DEFICITS,)),
        "B3": make_course(
            b, "Barton", sessions=weekly(13, 7), continuation_decision=Course.Continuation.MAINTENANCE
        ),
        "C1": make_course(
            a,
            "Carter",
            status=completed,
            end_days_ago=30,
            sessions=[(40, False), (35, False)],
            phq9=[(110, 20), (30, 8)],
            areas=(A.GRIEF,),
        ),
        "C2": make_course(
            a,
            "Chase",
            status=completed,
            end_days_ago=60,
            phq9=[(140, 12), (60, 4)],
            areas=(A.ROLE_TRANSITION,),
        ),
        "C3": make_course(
            b,
            "Clark",
            status=completed,
            end_days_ago=100,
            phq9=[(180, 9), (100, 16)],
            areas=(A.ROLE_DISPUTE,),
        ),
        "C4": make_course(
            b, "Cole", status=completed, end_days_ago=10, phq9=[(90, 11)], areas=(A.ROLE_DISPUTE,)
        ),
        "C5": make_course(b, "Cross", status=completed, end_days_ago=20),
        "C6": make_course(
            a,
            "Curtis",
            status=completed,
            start_days_ago=500,
            end_days_ago=400,
            phq9=[(500, 20), (400, 2)],
            areas=(A.GRIEF,),
        ),
        "D1": make_course(a, "Dunn", status=Course.Status.DISCONTINUED, end_days_ago=15),
        # Another clinic: overdue, at risk, completed in the period. Never counted, never shown.
        "F1": make_course(foreign, "Outsider", given="Foreign", sessions=weekly(3, 30), item9_days_ago=30),
        "F2": make_course(
            foreign, "Stranger", given="Foreign", status=completed, end_days_ago=5, phq9=[(90, 20), (5, 1)]
        ),
    }
    return courses


# What the dashboard shows for the caseload above with the default filters, worked out by hand.
EXPECTED_HEADLINE = {
    "active": {"A1", "A2", "A3", "A4", "B1", "B2", "B3"},
    "phase:initial": {"A2", "A4"},
    "phase:middle": {"A1", "A3"},
    "phase:termination": {"B1"},
    "phase:maintenance": {"B2", "B3"},
    "area:grief": {"A1"},
    "area:role_dispute": {"A2", "B1"},
    "area:role_transition": {"A2", "A3"},
    "area:interpersonal_deficits": {"B2"},
    "no_area": {"A4", "B3"},
    "overdue": {"A1", "A4"},
    "risk": {"A1", "A2", "B1"},
    "item9": {"A2"},
    "deteriorating": {"A1", "B1"},
    "unsigned": {"A3", "C1"},
    "past_plan": {"B2"},
    "completed": {"C1", "C2", "C3", "C4", "C5"},
    "no_baseline": {"C5"},
    "no_final": {"C4"},
    "measured": {"C1", "C2", "C3"},
    "response": {"C1", "C2"},
    "remission": {"C2"},
    "reliable_improvement": {"C1", "C2"},
    "reliable_deterioration": {"C3"},
    "case_at_baseline": {"C1", "C2"},
    "recovery": {"C1", "C2"},
    "caseload": {"A1", "A2", "A3", "A4", "B1", "B2", "B3", "C1", "C2", "C3", "C4", "C5", "D1"},
}
LATE_UNSIGNED_NOTES = 3  # A3: 1 (T-3; T-2 is not late yet), C1: 2
