"""Build the demo clinic: staff, 15 patients and their IPT courses, dated around today.

The data is deterministic for a given day (a seeded Random; dates relative to
`timezone.localdate()`), and a second run changes nothing. Every account uses
the published DEMO_PASSWORD, so the command refuses to run without DEBUG.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from sessions_app import ipt, measures
from sessions_app.models import (
    Clinic,
    Course,
    Goal,
    GoalReview,
    MeasureResponse,
    Patient,
    ProblemAreaFocus,
    RelationshipEntry,
    TherapySession,
    User,
)

DEMO_PASSWORD = "ipt-demo-2026"  # noqa: S105 (published on purpose; DEBUG only)
CLINIC_NAME = "Riverside IPT Clinic"
SEED = 2026
A, T, D = ipt.ProblemArea, ipt.Technique, ipt.DisputeStage
STAFF = [  # username, role, first name, last name
    ("demo-admin", User.Role.CLINIC_ADMIN, "Priya", "Raman"),
    ("demo-therapist", User.Role.THERAPIST, "Helen", "Okafor"),
    ("demo-therapist2", User.Role.THERAPIST, "Marcus", "Lindqvist"),
    ("demo-therapist3", User.Role.THERAPIST, "Sofia", "Marchetti"),
]


@dataclass(frozen=True)
class Person:
    """One inventory entry; `note` is what the patient would like to change."""

    name: str
    relationship: str
    ring: int
    contact: str = "weekly"
    deceased: bool = False
    note: str = ""


@dataclass(frozen=True)
class Focus:
    """A problem area; the first of a patient's foci is the primary one."""

    area: str
    person: str = ""  # an inventory name: the other party, or the person who died
    stage: str = ""
    old_role: str = ""
    new_role: str = ""
    months_ago: int = 6  # of the death or the change, before the course started
    goals: tuple[str, ...] = ()
    hidden_goals: tuple[str, ...] = ()  # therapist-only wording, kept off the portal


@dataclass(frozen=True)
class Demo:
    """One demo patient and the shape of their course."""

    given: str
    family: str
    age: int
    therapist: str
    story: str  # presenting concerns, reused in the formulation
    people: tuple[Person, ...]
    foci: tuple[Focus, ...]
    planned: int
    done: int  # attended sessions so far
    phq: tuple[int, int]  # PHQ-9 at the first and the latest attended session
    gad: tuple[int, int]
    status: str = Course.Status.ACTIVE
    weeks_ago: int = 0  # whole weeks between today and the latest booked session
    missed: tuple[tuple[int, str], ...] = ()  # (after attended session n, cancelled/no_show)
    drafts: int = 0  # the latest attended sessions left unsigned
    item9_at: tuple[int, ...] = ()  # sessions where PHQ-9 item 9 scored 1
    conditions: tuple[str, ...] = ("depression",)
    medication: str = ""
    portal: str = ""  # username of the patient's portal account
    share_scores: bool = False


P, F = Person, Focus
NO_SHOW, CANCELLED = TherapySession.Attendance.NO_SHOW, TherapySession.Attendance.CANCELLED
# fmt: off
PATIENTS = [
    Demo("Nadia", "Haddad", 34, "demo-therapist",
         "Low mood and constant rows with her partner Sam since he started night shifts.",
         (P("Sam", "partner", 1, "daily", note="Talk without it turning into a row"),
          P("Rania", "sibling", 1), P("Mum", "parent", 2), P("Jo", "friend", 2),
          P("Kate", "coworker", 3, "daily")),
         (F(A.ROLE_DISPUTE, "Sam", D.RENEGOTIATION, goals=(
             "Tell Sam what I need calmly, without it turning into a row",
             "Agree with Sam one evening a week that is just for us",
             "See Jo or my sister at least once a week")),),
         12, 7, (17, 8), (13, 6), drafts=1, conditions=("depression", "anxiety"),
         medication="Sertraline 100 mg daily", portal="demo-patient", share_scores=True),
    Demo("Arthur", "Pembroke", 71, "demo-therapist",
         "Withdrawn and sleeping badly since his wife Margaret died of a stroke last spring.",
         (P("Margaret", "partner", 1, "none", deceased=True),
          P("Diane", "child", 1, note="Let her help more"), P("Ron", "friend", 2, "monthly"),
          P("Mrs Patel", "other", 3)),
         (F(A.GRIEF, "Margaret", months_ago=7, goals=(
             "Talk about Margaret and how much I miss her, instead of bottling it up",
             "Go back to the bowls club and see Ron regularly")),),
         14, 6, (19, 13), (9, 7), item9_at=(5,), medication="Mirtazapine 15 mg at night"),
    Demo("Chloe", "Bennett", 27, "demo-therapist",
         "Lonely and low since moving to the city for her first job after university.",
         (P("Mum", "parent", 1), P("Tom", "coworker", 3, "daily"),
          P("Ellie", "friend", 2, "monthly", note="Keep in touch despite the distance")),
         (F(A.ROLE_TRANSITION, old_role="Student living with friends",
            new_role="Graduate working in a new city", months_ago=4),),
         12, 2, (14, 13), (11, 10), drafts=1, conditions=("depression", "anxiety")),
    Demo("Daniel", "Osei", 45, "demo-therapist",
         "Depressed and angry since becoming his father's main carer; his brother will not share the load.",
         (P("Dad", "parent", 1, "daily"), P("Kofi", "sibling", 2, "monthly", note="Share Dad's care fairly"),
          P("Abena", "partner", 1, "daily"), P("Mark", "friend", 3, "rarely")),
         (F(A.ROLE_DISPUTE, "Kofi", D.IMPASSE, goals=("Ask Kofi plainly for a fair share of Dad's care",)),
          F(A.ROLE_TRANSITION, old_role="Son with his own life", new_role="Father's main carer", months_ago=9,
            goals=("Keep one evening a week for myself and Abena",))),
         12, 11, (16, 5), (10, 4), drafts=1),
    Demo("Grace", "Whitfield", 61, "demo-therapist",
         "Lost and low since retiring as a head teacher; the days feel empty.",
         (P("Peter", "partner", 1, "daily"), P("Anna", "child", 2, "monthly"), P("Sue", "friend", 2,
          note="See more of her"), P("Old colleagues", "coworker", 3, "rarely")),
         (F(A.ROLE_TRANSITION, old_role="Head teacher", new_role="Retired", months_ago=8, goals=(
             "Find two things each week that give my days a shape",
             "Feel all right about no longer being 'the head'")),),
         14, 14, (15, 3), (8, 2), status=Course.Status.COMPLETED, weeks_ago=6),
    Demo("Tomasz", "Nowak", 39, "demo-therapist2",
         "Low, drinking more and not sleeping since his wife Ewa said she wants to separate.",
         (P("Ewa", "partner", 1, "daily", note="Part without fighting in front of the children"),
          P("Zofia", "child", 1, "daily"), P("Piotr", "sibling", 2, "monthly"),
          P("Gym friends", "friend", 3)),
         (F(A.ROLE_DISPUTE, "Ewa", D.DISSOLUTION,
            goals=("Talk with Ewa about the children without it becoming a fight",),
            hidden_goals=("Cut drinking back to weekends only",)),),
         16, 8, (12, 19), (10, 15), missed=((6, CANCELLED),), drafts=2, medication="Citalopram 20 mg daily"),
    Demo("Leila", "Ahmadi", 31, "demo-therapist2",
         "Tearful and exhausted since her son was born; feels she and her partner have become strangers.",
         (P("Reza", "partner", 1, "daily", note="Share the night feeds and talk more"),
          P("Arman (baby)", "child", 1, "daily"), P("Mum", "parent", 2), P("Antenatal group", "friend", 3)),
         (F(A.ROLE_TRANSITION, old_role="Working architect", new_role="New mother on leave", months_ago=5,
            goals=("Feel like myself again, not only 'Arman's mum'",)),
          F(A.ROLE_DISPUTE, "Reza", D.RENEGOTIATION,
            goals=("Agree with Reza a fair split of nights and chores",))),
         16, 14, (18, 6), (14, 5), missed=((9, CANCELLED),), conditions=("depression", "anxiety"),
         portal="demo-patient2", share_scores=True),
    Demo("Kwame", "Mensah", 52, "demo-therapist2",
         "Flat and ashamed since being made redundant after twenty years at the same firm.",
         (P("Ama", "partner", 1, "daily"), P("Yaw", "child", 2),
          P("Steve", "coworker", 3, "rarely", note="Ask him about contract work")),
         (F(A.ROLE_TRANSITION, old_role="Senior logistics manager", new_role="Out of work, job hunting",
            months_ago=5, goals=("Apply for two jobs a week and tell Ama how it went",)),),
         12, 5, (15, 14), (9, 9), weeks_ago=2, missed=((5, NO_SHOW),)),
    Demo("Ruth", "Gallagher", 66, "demo-therapist2",
         "Long-standing loneliness: few friends since her twenties, and low for most of this year.",
         (P("Fiona", "other_family", 2, "monthly", note="Ring her more often"), P("Val", "other", 3),
          P("Church group", "friend", 3, "rarely")),
         (F(A.INTERPERSONAL_DEFICITS, goals=("Have a real conversation with someone twice a week",)),),
         12, 5, (14, 13), (7, 7), status=Course.Status.DISCONTINUED, weeks_ago=8,
         missed=((5, NO_SHOW), (5, NO_SHOW))),
    Demo("Ben", "Thornton", 29, "demo-therapist2",
         "Works from home, sees almost no one and has never had a close friend; low for years.",
         (P("Mum", "parent", 2, "monthly"), P("Online gaming friends", "friend", 3, "daily"),
          P("Raj", "coworker", 3, note="Meet in person once")),
         (F(A.INTERPERSONAL_DEFICITS, goals=("Meet one person face to face each week",)),),
         12, 3, (13, 12), (8, 8)),
    Demo("Eleanor", "Hughes", 47, "demo-therapist3",
         "Depressed since her sister Claire died of cancer; clashing with her mother over the estate.",
         (P("Claire", "sibling", 1, "none", deceased=True), P("Huw", "partner", 1, "daily"),
          P("Mother", "parent", 2, note="Talk about Claire without fighting about money"),
          P("Megan", "friend", 2)),
         (F(A.GRIEF, "Claire", months_ago=7,
            goals=("Let myself grieve for Claire, and talk about her with Huw",)),
          F(A.ROLE_DISPUTE, "Mother", D.IMPASSE,
            goals=("Have one calm conversation with Mum about Claire's things",))),
         14, 9, (20, 9), (12, 6), drafts=1, medication="Sertraline 50 mg daily"),
    Demo("Samir", "Patel", 36, "demo-therapist3",
         "Low and irritable since being diagnosed with type 1 diabetes; stopped seeing friends.",
         (P("Anjali", "partner", 1, "daily"), P("Dev", "friend", 2, note="Tell him about the diabetes"),
          P("Parents", "parent", 2), P("Cricket team", "friend", 3, "monthly")),
         (F(A.ROLE_TRANSITION, old_role="Healthy and spontaneous", new_role="Living with diabetes",
            months_ago=6, goals=("Get back to cricket, planning around my blood sugar",
                                 "Tell my friends about the diabetes")),),
         12, 13, (16, 4), (11, 3)),
    Demo("Aoife", "Kelly", 29, "demo-therapist3",
         "Anxious and low since a new manager began criticising her work in front of the team.",
         (P("Linda", "coworker", 2, "daily", note="Raise the criticism with her privately"),
          P("Cian", "partner", 1, "daily"), P("Dad", "parent", 2), P("Roisin", "friend", 2)),
         (F(A.ROLE_DISPUTE, "Linda", D.RENEGOTIATION,
            goals=("Ask Linda for feedback in private, not in front of the team",)),),
         12, 5, (15, 11), (16, 12), conditions=("anxiety", "depression")),
    Demo("Jonah", "Fischer", 41, "demo-therapist3",
         "Low since his divorce was finalised and he moved into a flat on his own.",
         (P("Lena", "child", 1), P("Katrin", "partner", 2), P("Tim", "sibling", 2, "monthly")),
         (F(A.ROLE_TRANSITION, old_role="Married, living with his family", new_role="Divorced, living alone",
            months_ago=3),),
         12, 1, (17, 17), (9, 9)),
    Demo("Maria", "Santos", 55, "demo-therapist3",
         "Grieving her husband José, who died suddenly; cannot face going back to work.",
         (P("José", "partner", 1, "none", deceased=True), P("Ana", "child", 1),
          P("Lucia", "friend", 2, note="Accept her invitations"), P("Work team", "coworker", 3, "rarely")),
         (F(A.GRIEF, "José", months_ago=8, goals=("Talk about José with Ana without changing the subject",)),
          F(A.ROLE_TRANSITION, old_role="Wife", new_role="Widow returning to work", months_ago=8,
            goals=("Go back to work three days a week",))),
         12, 12, (21, 7), (14, 5), status=Course.Status.COMPLETED, weeks_ago=10, missed=((7, CANCELLED),),
         medication="Sertraline 100 mg daily"),
]

# Two hard weeks, then two better ones: improving patients get the better ones later on.
EVENTS = {
    A.GRIEF: ("Anniversary of {person}'s diagnosis; stayed in all weekend and barely ate.",
              "Found {person}'s reading glasses in a drawer and cried properly for the first time in weeks.",
              "Went somewhere {person} loved; felt guilty enjoying it, then relieved. Sleeping better.",
              "Said yes to a friend's invitation, the first since {person} died. Mood lifted for a day."),
    A.ROLE_DISPUTE: ("Another row with {person}, over money this time; two days of silence. Mood dipped.",
                     "{person} went back on what they had agreed; said nothing and stewed all week.",
                     "Raised things with {person} calmly, as practised, and {person} listened. Felt hopeful.",
                     "A calmer week: agreed with {person} a set time to talk things through."),
    A.ROLE_TRANSITION: ("Hard week in the new routine: felt out of place and tired, but kept going.",
                        "Missed the old life badly on Monday; low for a day, then picked up.",
                        "Met someone going through the same change and felt less alone with it.",
                        "Did something the old role never left time for, and enjoyed it."),
    A.INTERPERSONAL_DEFICITS: ("Spoke to no one but the shop till all week; mood low by Friday.",
                               "Meant to go to the walking group but turned back at the door; low all night.",
                               "Went to the walking group and spoke to two people; nervous, then pleased.",
                               "Answered a message from {person} at last; they will meet for coffee."),
}
INITIAL_EVENTS = ("Assessment. {story}", "Began the interpersonal inventory, starting with {person}.",
                  "Finished the inventory; shared the formulation and agreed the focus, contract and goals.")
INITIAL_NOTES = ("Engaged, if guarded. Affect flat when talking about {person}.",
                 "Explained the sick role; visibly relieved that this is an illness, not a failing.",
                 "Agreed the formulation readily, and added detail about when the low mood began.")
MIDDLE_NOTES = ("Strong affect in the role play about {person}; praised the attempt.",
                "Alliance solid. Some avoidance around {person} today; return to it next week.",
                "Tends to discount progress; we linked the better week to the lower PHQ-9 together.",
                "Brighter today, and starting to credit the change to {given}'s own efforts.")
STALLED_NOTE = "Scores not shifting. Revisit the focus next week; suggest a medication review with the GP."
ITEM9_NOTE = "After the PHQ-9, spoke of sometimes wishing not to wake up; no plan or intent. See risk check."
MAINTENANCE_NOTE = "Maintenance session: mood steady; one wobble this month, handled with the plan."
# By position in the termination phase: its first, second and last session.
ENDING_EVENTS = ("Talked about the course ending soon: proud of the changes, nervous about managing alone.",
                 "Reviewed what changed since the start and what {given} did to make it happen.",
                 "Last planned session: went over the warning signs and the plan; said goodbye for now.")
ENDING_NOTES = ("Sadness about ending, named as normal; credited the gains to {given}.",
                "Went through the relapse plan; {given} can name the early warning signs unprompted.",
                "A warm ending. Left the door open: GP or self-referral if the warning signs return.")
TASKS = {
    A.GRIEF: [("journal", "Write a few lines each evening about a memory of {person}."),
              ("reconnecting", "Ring one friend from before and suggest a walk.")],
    A.ROLE_DISPUTE: [("communication_practice", "Open one conversation with {person} with 'When…, I feel…'."),
                     ("journal", "Note each disagreement with {person}: what was said, and how it felt.")],
    A.ROLE_TRANSITION: [("other", "List two good things in the new role, and one thing missed from the old."),
                        ("reconnecting", "Try one group or activity that fits the new role.")],
    A.INTERPERSONAL_DEFICITS: [("reconnecting", "Send {person} a message suggesting a coffee."),
                               ("communication_practice", "Start one short conversation with a neighbour.")],
}
INITIAL_TECHNIQUES = (T.PSYCHOEDUCATION, T.NONDIRECTIVE_EXPLORATION, T.DIRECT_ELICITATION)
INITIAL_TASK = ("journal", "Keep a mood diary: the mood each day and who you saw.")
ENDING_TASK = ("other", "Write down your own early warning signs and what helps.")
TECHNIQUES = {
    A.GRIEF: [T.ENCOURAGEMENT_OF_AFFECT, T.NONDIRECTIVE_EXPLORATION, T.CLARIFICATION],
    A.ROLE_DISPUTE: [T.COMMUNICATION_ANALYSIS, T.ROLE_PLAY, T.DECISION_ANALYSIS, T.CLARIFICATION],
    A.ROLE_TRANSITION: [T.DECISION_ANALYSIS, T.CLARIFICATION, T.ENCOURAGEMENT_OF_AFFECT, T.ROLE_PLAY],
    A.INTERPERSONAL_DEFICITS: [T.THERAPEUTIC_RELATIONSHIP, T.ROLE_PLAY, T.COMMUNICATION_ANALYSIS],
}
# fmt: on
PROGRESS = list(GoalReview.Progress)  # not started < some < substantial < achieved
Slot = tuple[date, int | None, str]  # date, session number (None if missed), attendance


class Command(BaseCommand):
    help = "Create the Riverside demo clinic with demo accounts (password: ipt-demo-2026). DEBUG only."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Run even when DEBUG is off.")

    def handle(self, *args: Any, force: bool = False, verbosity: int = 1, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates well-known demo accounts with a published password; "
                "it runs only with DEBUG on. Use --force to run it anyway."
            )
        with transaction.atomic():
            if Clinic.objects.filter(name=CLINIC_NAME).exists():
                if verbosity:
                    self.stdout.write("Demo clinic already present; nothing changed.")
                return
            usernames = [s[0] for s in STAFF] + [d.portal for d in PATIENTS if d.portal]
            clash = User.objects.filter(username__in=usernames).first()
            if clash:
                raise CommandError(f"User {clash.username} already exists outside the demo clinic.")
            build_clinic(random.Random(SEED), timezone.localdate())
        if verbosity:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created {CLINIC_NAME} with {len(PATIENTS)} patients. Sign in as demo-therapist, "
                    f"demo-admin or demo-patient with password {DEMO_PASSWORD}."
                )
            )


def build_clinic(rng: random.Random, today: date) -> Clinic:
    clinic = Clinic.objects.create(name=CLINIC_NAME)
    staff = {
        username: make_user(clinic, username, role, first, last, "riverside-ipt.example")
        for username, role, first, last in STAFF
    }
    for spec in PATIENTS:
        build_patient(spec, clinic, staff[spec.therapist], rng, today)
    return clinic


def make_user(clinic: Clinic, username: str, role: str, first: str, last: str, domain: str) -> User:
    email = f"{first}.{last}@{domain}".lower()
    user = User(username=username, role=role, clinic=clinic, first_name=first, last_name=last, email=email)
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user


def schedule(spec: Demo, rng: random.Random, today: date) -> list[Slot]:
    """Weekly slots, the latest `weeks_ago` weeks (plus a few days) before today."""
    slots: list[tuple[int | None, str]] = []
    for number in range(1, spec.done + 1):
        slots.append((number, TherapySession.Attendance.ATTENDED))
        slots += [(None, attendance) for after, attendance in spec.missed if after == number]
    last = today - timedelta(weeks=spec.weeks_ago, days=rng.randint(1, 6))
    while last.weekday() >= 5:  # the clinic is shut at weekends
        last -= timedelta(days=1)
    return [(last - timedelta(weeks=len(slots) - 1 - i), n, att) for i, (n, att) in enumerate(slots)]


def build_patient(spec: Demo, clinic: Clinic, therapist: User, rng: random.Random, today: date) -> None:
    slots = schedule(spec, rng, today)
    portal = None
    if spec.portal:
        portal = make_user(clinic, spec.portal, User.Role.PATIENT, spec.given, spec.family, "example.net")
    patient = Patient.objects.create(
        clinic=clinic,
        therapist=therapist,
        portal_user=portal,
        given_name=spec.given,
        family_name=spec.family,
        date_of_birth=date(today.year - spec.age, rng.randint(1, 12), rng.randint(1, 28)),
        conditions=list(spec.conditions),
        medication=spec.medication,
        medication_reviewed_on=slots[0][0] if spec.medication else None,
        presenting_concerns=spec.story,
    )
    course = Course.objects.create(patient=patient, therapist=therapist, **course_fields(spec, slots))
    people = {p.name: make_person(course, p) for p in spec.people}
    foci = [make_focus(course, spec, i, people) for i in range(len(spec.foci))]
    # Goals are agreed with the contract at the end of the initial phase.
    goals = make_goals(foci, spec) if spec.done >= ipt.INITIAL_PHASE_SESSIONS else []
    booked = 0  # number of the latest attended session: a missed one was booked as the next
    for when, number, attendance in slots:
        booked = number or booked
        session = make_session(course, spec, when, number or booked + 1, attendance, foci, people, rng)
        if number is not None:
            record_measures(session, spec, number, rng)
            review_goals(session, spec, number, goals)
        # Signing comes last, as in the app: a signed session and its scores are locked.
        if number is None or number <= spec.done - spec.drafts:
            session.signed_at = timezone.make_aware(datetime.combine(when, time(17, rng.randint(0, 59))))
            session.signed_by = therapist
            session.save(update_fields=["signed_at", "signed_by"])


def course_fields(spec: Demo, slots: list[Slot]) -> dict[str, Any]:
    """Course dates and the paperwork of each phase the course has reached."""
    on = {n: when for when, n, _ in slots if n}
    fields: dict[str, Any] = {
        "planned_sessions": spec.planned,
        "start_date": on[1],
        "status": spec.status,
        "share_scores_with_patient": spec.share_scores,
        "psychoeducation_on": on[1],
    }
    if spec.done >= ipt.INITIAL_PHASE_SESSIONS:
        areas = " and ".join(focus_phrase(f) for f in spec.foci)
        fields["formulation"] = (
            f"{spec.story} We understand {spec.given}'s depression as linked to {areas}; "
            "as that eases, the mood should lift too."
        )
        fields |= {"formulation_shared_on": on[3], "formulation_agreed": True, "contract_date": on[3]}
    if spec.done > spec.planned - ipt.TERMINATION_PHASE_SESSIONS:
        fields |= {
            "ending_discussed_on": on[spec.planned - ipt.TERMINATION_PHASE_SESSIONS],
            "feelings_about_ending": "Proud, and a little anxious about managing without the sessions.",
            "gains": f"{spec.given} spoke up, reconnected with people and kept going through the bad weeks.",
            "relapse_warning_signs": "Sleeping badly for more than a week; cancelling plans; "
            f"going quiet with {confidant(spec)}; dreading the mornings again.",
            "coping_plan": "Ring a friend the same day; keep the weekly routine; repeat the PHQ-9; "
            "if two scores in a row are 10 or more, contact the GP or the clinic.",
        }
    if spec.done > spec.planned:
        fields["continuation_decision"] = Course.Continuation.MAINTENANCE
    if spec.status == Course.Status.COMPLETED:
        fields |= {
            "continuation_decision": Course.Continuation.NONE,
            "end_date": slots[-1][0],
            "end_reason": "Planned course completed.",
        }
    elif spec.status == Course.Status.DISCONTINUED:
        fields |= {
            "continuation_decision": Course.Continuation.REFERRAL,
            "end_date": slots[-1][0] + timedelta(days=10),
            "end_reason": "Stopped coming after moving to live near family; referred to her local service.",
        }
    return fields


def focus_phrase(focus: Focus) -> str:
    """How the formulation names a problem area."""
    if focus.area == A.GRIEF:
        return f"grief for {focus.person}"
    if focus.area == A.ROLE_DISPUTE:
        return f"a role dispute with {focus.person}, at the {focus.stage} stage"
    if focus.area == A.ROLE_TRANSITION:
        return f"a role transition ({focus.old_role.lower()} to {focus.new_role.lower()})"
    return "social isolation (interpersonal deficits)"


def confidant(spec: Demo) -> str:
    """The closest living person in the inventory: who to ring when things slip."""
    return min((p for p in spec.people if not p.deceased), key=lambda p: p.ring).name


def make_person(course: Course, p: Person) -> RelationshipEntry:
    return RelationshipEntry.objects.create(
        course=course,
        name=p.name,
        relationship=p.relationship,
        closeness_ring=p.ring,
        contact=p.contact,
        is_deceased=p.deceased,
        desired_change=p.note,
        knows_patient_low=None if p.deceased else p.ring == 1,
        expectations_met="" if p.deceased else ("partly" if p.note else "yes"),
    )


def make_focus(
    course: Course, spec: Demo, index: int, people: dict[str, RelationshipEntry]
) -> ProblemAreaFocus:
    focus = spec.foci[index]
    changed = course.start_date - timedelta(days=30 * focus.months_ago)
    if spec.done < ipt.INITIAL_PHASE_SESSIONS:
        rationale = "Provisional: to be confirmed with the formulation."
    else:
        rationale = spec.story if index == 0 else "A second focus: it keeps feeding the first."
    return ProblemAreaFocus.objects.create(
        course=course,
        area=focus.area,
        is_primary=index == 0,
        rationale=rationale,
        person=people.get(focus.person),
        dispute_stage=focus.stage,
        old_role=focus.old_role,
        new_role=focus.new_role,
        change_date=changed if focus.area == A.ROLE_TRANSITION else None,
        date_of_death=changed if focus.area == A.GRIEF else None,
    )


def make_goals(foci: list[ProblemAreaFocus], spec: Demo) -> list[Goal]:
    return [
        Goal.objects.create(focus=focus, text=text, visible_to_patient=text not in f.hidden_goals)
        for focus, f in zip(foci, spec.foci, strict=True)
        for text in f.goals + f.hidden_goals
    ]


def make_session(
    course: Course,
    spec: Demo,
    when: date,
    number: int,
    attendance: str,
    foci: list[ProblemAreaFocus],
    people: dict[str, RelationshipEntry],
    rng: random.Random,
) -> TherapySession:
    """One session with what its phase and the course's foci call for; `number` is as booked."""
    phase = course.default_phase_for(number)
    if attendance != TherapySession.Attendance.ATTENDED:
        note = (
            "Cancelled by text that morning." if attendance == CANCELLED else "Did not attend; letter sent."
        )
        return TherapySession.objects.create(
            course=course, date=when, attendance=attendance, phase=phase, private_note=note
        )
    # The primary focus is worked on every session from the contract on; a second one every other week.
    worked = foci[: 1 + number % 2] if number >= ipt.INITIAL_PHASE_SESSIONS else []
    focus = worked[0] if worked else foci[0]
    person = focus.person.name if focus.person else confidant(spec)
    text = {"person": person, "given": spec.given, "story": spec.story}
    events, note = session_texts(spec, phase, number, focus.area)
    if phase == ipt.Phase.INITIAL:
        techniques, strategies, task = list(INITIAL_TECHNIQUES[: number + 1]), [], INITIAL_TASK
    else:
        techniques = rng.sample(TECHNIQUES[focus.area], 2)
        strategies = rng.sample([code for f in worked for code, _ in f.guide.strategies], 2)
        task = ENDING_TASK if phase == ipt.Phase.TERMINATION else rng.choice(TASKS[focus.area])
    fields: dict[str, Any] = {
        "duration_minutes": 60 if number == 1 else 50,
        "modality": "video" if rng.random() < 0.2 else "in_person",
        "events_since_last": events.format(**text),
        "private_note": note.format(**text),
        "techniques": techniques,
        "strategies": strategies,
        "task_type": task[0],
        "task_text": task[1].format(**text),
        "last_task_outcome": rng.choice(["done", "done", "partly", "not_done"]) if number > 1 else "",
        **risk_check(spec, number),
    }
    session = TherapySession.objects.create(
        course=course,
        number=number,
        date=when,
        phase=phase,
        attendance=attendance,
        dispute_stage=next((f.dispute_stage for f in worked if f.dispute_stage), ""),
        **fields,
    )
    session.foci.set(worked)
    session.people_discussed.set([people[person]])
    return session


def risk_check(spec: Demo, number: int) -> dict[str, Any]:
    """A risk screen at the first session, and a full check wherever PHQ-9 item 9 was positive."""
    if number in spec.item9_at:
        return {
            "risk_ideation": "passive",
            "risk_plan": False,
            "risk_intent": False,
            "safety_plan": f"Ring {confidant(spec)} or the crisis line (number on the card); "
            "keep the daily walk; GP appointment booked for this week.",
            "risk_action_taken": "PHQ-9 item 9 positive, assessed in session: passive thoughts, no plan "
            "or intent. Safety plan agreed and given to the patient; GP informed with consent; "
            "review next week.",
        }
    if number == 1:
        return {"risk_ideation": "none", "risk_plan": False, "risk_intent": False}
    return {}


def improving(spec: Demo) -> bool:
    return spec.phq[0] - spec.phq[1] >= 4


def session_texts(spec: Demo, phase: str, number: int, area: str) -> tuple[str, str]:
    """Events since last time and the private note, matched to the phase and the score trend."""
    if phase == ipt.Phase.INITIAL:
        return INITIAL_EVENTS[number - 1], INITIAL_NOTES[number - 1]
    if phase == ipt.Phase.TERMINATION:
        index = number - (spec.planned - ipt.TERMINATION_PHASE_SESSIONS) - 1
        return ENDING_EVENTS[index], ENDING_NOTES[index]
    # Alternate two texts week by week; improving patients get the better pair in their latter half.
    if number in spec.item9_at:
        return EVENTS[area][number % 2], ITEM9_NOTE
    better = 2 if phase == ipt.Phase.MAINTENANCE or (improving(spec) and number > (spec.done + 3) / 2) else 0
    events = EVENTS[area][number % 2 + better]
    if phase == ipt.Phase.MAINTENANCE:
        return events, MAINTENANCE_NOTE
    if not improving(spec) and number >= 5:
        return events, STALLED_NOTE
    return events, MIDDLE_NOTES[number % 2 + better]


def score_at(series: tuple[int, int], number: int, done: int, rng: random.Random) -> int:
    """A point on the line from the first to the latest score, with a little noise in between."""
    first, last = series
    if number == 1 or number == done:
        return first if number == 1 else last
    return max(0, first + round((last - first) * (number - 1) / (done - 1)) + rng.randint(-1, 1))


def spread(total: int, count: int, rng: random.Random, fixed: dict[int, int]) -> list[int]:
    """Answers 0–3 to `count` items adding up to `total`; the `fixed` answers are kept as given."""
    items = [fixed.get(i, 0) for i in range(count)]
    free = [i for i in range(count) if i not in fixed]
    for _ in range(min(total - sum(items), measures.MAX_ITEM * len(free))):
        items[rng.choice([i for i in free if items[i] < measures.MAX_ITEM])] += 1
    return items


def record_measures(session: TherapySession, spec: Demo, number: int, rng: random.Random) -> None:
    """PHQ-9 and GAD-7 at every attended session (the app's default frequency)."""
    item9 = {measures.ITEM9_INDEX: 1 if number in spec.item9_at else 0}
    for instrument, series, fixed in (("phq9", spec.phq, item9), ("gad7", spec.gad, {})):
        items = spread(score_at(series, number, spec.done, rng), len(measures.ITEMS[instrument]), rng, fixed)
        # create(), not bulk_create(): save() computes the total, band and item-9 flag.
        MeasureResponse.objects.create(
            patient=session.course.patient,
            course=session.course,
            session=session,
            instrument=instrument,
            items=items,
            difficulty=min(3, sum(items) // 6),
            taken_on=session.date,
            recorded_by=session.course.therapist,
        )


def review_goals(session: TherapySession, spec: Demo, number: int, goals: list[Goal]) -> None:
    """Review every goal at each session after the contract; progress stalls when scores do."""
    since_contract = number - ipt.INITIAL_PHASE_SESSIONS
    if since_contract < 1:
        return
    if improving(spec):
        level = min(3, 4 * since_contract // max(1, spec.planned - ipt.INITIAL_PHASE_SESSIONS))
    else:
        level = min(1, since_contract - 1)
    for goal in goals:
        GoalReview.objects.create(goal=goal, session=session, progress=PROGRESS[level])
        if level == 3 and number == spec.done:
            goal.status = Goal.Status.ACHIEVED
            goal.save(update_fields=["status"])
