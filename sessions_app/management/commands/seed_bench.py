"""Build a synthetic clinic network for the benchmark: `manage.py seed_bench --scale S`.

At `--scale 1`: 5 clinics, 50 therapists (100 patients each), 5,000 patients,
about 75,000 sessions across every phase and problem area, about 150,000
PHQ-9/GAD-7 responses, goals, goal reviews, inventory entries, a clinic admin
per clinic, portal accounts for every tenth patient and about 160,000 audit events.
Everything scales linearly with S except the number of clinics (at most 5),
so a clinic's caseload grows with S while each therapist keeps ~100 patients.

* **Deterministic**: one seeded `random.Random` drives every value, public ids
  included; dates are relative to the day it runs (as `seed_demo`'s are), so
  two runs on the same day build the same network.
* **Fast**: `bulk_create` in batches, a chunk of patients at a time. Model
  `save()` is bypassed, which is safe here because what it enforces is done
  explicitly: questionnaire totals, bands and item-9 flags come from
  `measures.score()`, and signed sessions are written once, already signed
  (the signed-session lock guards later changes, and nothing here changes a
  row after inserting it). Timestamps (`created_at`, audit `at`) are set
  explicitly instead of "now". django-simple-history rows are not written for
  bench data: history records changes, and these rows were never changed.
* **Safe**: it refuses to run on a database that holds any clinic whose name
  does not start with `SYNTHETIC_PREFIX` (real or demo data), or that already
  holds bench data. Accounts get unusable passwords: the benchmark signs its
  users in by creating their sessions directly, so seeding never creates a
  login anyone could use.
"""

from __future__ import annotations

import io
import json
import math
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from sessions_app import ipt, measures
from sessions_app.models import (
    AuditEvent,
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

SYNTHETIC_PREFIX = "[synthetic] "
SEED = 20261123
MAX_SCALE = 100.0

# At scale 1.
THERAPISTS = 50
PATIENTS = 5000
MAX_CLINICS = 5
PORTAL_EVERY = 10  # every tenth patient has a portal account
AUDIT_PER_PATIENT = 30
LOGIN_EVERY_DAYS = 2  # each staff account signs in every other day over LOGIN_HISTORY_DAYS
LOGIN_HISTORY_DAYS = 90
CHUNK = 500  # patients generated and inserted together
BATCH = 2000  # rows per INSERT

Attendance = TherapySession.Attendance
Phase = ipt.Phase
Area = ipt.ProblemArea
PHQ9, GAD7 = measures.Instrument.PHQ9, measures.Instrument.GAD7
# Choice values, looked up once: an enum's `.values` builds a new list on every call.
AREAS = ipt.ProblemArea.values
DISPUTE_STAGES = ipt.DisputeStage.values
TECHNIQUES = ipt.Technique.values
CONTINUATIONS = Course.Continuation.values
MODALITIES = TherapySession.Modality.values
TASK_TYPES = TherapySession.TaskType.values
TASK_OUTCOMES = TherapySession.TaskOutcome.values
PROGRESS = GoalReview.Progress.values

# fmt: off
GIVEN = (
    "Ada", "Alex", "Amir", "Ana", "Ben", "Carla", "Chen", "Dana", "Eli", "Emma", "Farah", "Finn", "Grace",
    "Hana", "Ivan", "Jamal", "Jo", "Kai", "Lena", "Leo", "Maya", "Mo", "Nadia", "Noah", "Olu", "Priya",
    "Ravi", "Rosa", "Sam", "Sara", "Tom", "Uma", "Vera", "Wen", "Yara", "Zoe", "Aisha", "Bruno", "Cleo",
    "Dev",
)
# fmt: on
# fmt: off
FAMILY = (
    "Abbott", "Baker", "Chowdhury", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
    "Kowalski", "Lopez", "Mensah", "Novak", "Okafor", "Patel", "Quinn", "Rossi", "Schmidt", "Tanaka",
    "Umar", "Varga", "Walsh", "Xu", "Yilmaz", "Zhang", "Brennan", "Costa", "Dubois", "Eriksen", "Ferreira",
    "Gallagher", "Horvat", "Iqbal", "Jones", "Kim", "Larsen", "Moreau", "Nakamura", "Osei",
)
# fmt: on
PEOPLE = (
    ("partner", "Partner"),
    ("parent", "Mum"),
    ("parent", "Dad"),
    ("sibling", "Sister"),
    ("sibling", "Brother"),
    ("child", "Son"),
    ("child", "Daughter"),
    ("friend", "Best friend"),
    ("friend", "Old school friend"),
    ("coworker", "Manager"),
    ("coworker", "Colleague"),
    ("other", "Neighbour"),
)
GOALS = {
    Area.GRIEF: ("Talk about the loss instead of bottling it up", "Go back to one activity I gave up"),
    Area.ROLE_DISPUTE: ("Say what I need calmly, without a row", "Agree one evening a week together"),
    Area.ROLE_TRANSITION: ("Find two people to talk to in my new role", "Name what I miss and what I gain"),
    Area.INTERPERSONAL_DEFICITS: ("Start one conversation a week", "Join a group that meets regularly"),
}
EVENTS = (
    "A calmer week; one argument resolved by talking it through.",
    "Low for two days after a difficult phone call.",
    "Met a friend for coffee for the first time in months.",
    "Sleep better; still avoiding the family dinner.",
    "Tried the conversation we practised; it went partly well.",
)


def parse_scale(raw: str) -> float:
    """The --scale value as a positive number up to MAX_SCALE, or a CommandError saying what is wrong."""
    try:
        scale = float(raw)
    except (TypeError, ValueError):
        raise CommandError(f"--scale must be a number such as 0.1, 1 or 10, not {raw!r}.") from None
    if not math.isfinite(scale) or scale <= 0:
        raise CommandError(f"--scale must be a positive number, not {raw!r}.")
    if scale > MAX_SCALE:
        raise CommandError(f"--scale {raw} is too large: at most {MAX_SCALE:g}.")
    return scale


def refusal_reason() -> str | None:
    """Why this database must not be seeded, or None if it is empty or holds only superusers."""
    real = Clinic.objects.exclude(name__startswith=SYNTHETIC_PREFIX)
    if real.exists():
        names = ", ".join(real.order_by("name").values_list("name", flat=True)[:3])
        return (
            f"This database holds clinics that are not synthetic ({names}). seed_bench only runs on an "
            "empty database or one it seeded itself: create a new database and point DATABASE_URL at it."
        )
    if Clinic.objects.exists():
        return (
            "This database already holds bench data. Seed a fresh database instead "
            "(bench/run.py keeps one template database per scale)."
        )
    return None


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def copy_rows(model: type[models.Model], rows: list[models.Model]) -> None:
    """Insert unsaved rows (primary keys set) with PostgreSQL's COPY: several times faster than INSERT."""
    fields = model._meta.concrete_fields
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    buffer = io.StringIO()
    for row in rows:
        values = []
        for f in fields:
            value = getattr(row, f.attname)
            values.append(json.dumps(value) if f.attname in json_fields and value is not None else value)
        buffer.write("\t".join(_copy_text(v) for v in values))
        buffer.write("\n")
    buffer.seek(0)
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)


@contextmanager
def explicit_timestamps() -> Iterator[None]:
    """Let bulk inserts keep the created/updated times we set instead of stamping "now"."""
    changed: list[tuple[models.Field, bool, bool]] = []
    for model in apps.get_app_config("sessions_app").get_models():
        for model_field in model._meta.concrete_fields:
            if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
                changed.append((model_field, model_field.auto_now, model_field.auto_now_add))
                model_field.auto_now = model_field.auto_now_add = False
    try:
        yield
    finally:
        for model_field, auto_now, auto_now_add in changed:
            model_field.auto_now, model_field.auto_now_add = auto_now, auto_now_add


class Row:
    """An unsaved row of some model: its column values (by attname) as attributes."""


@dataclass(frozen=True)
class RowShape:
    """What `_new` needs to know about a model: its pk, its relations and its column defaults."""

    pk: str
    relations: dict[str, str]  # field name -> attname, for foreign keys and one-to-ones
    defaults: tuple[tuple[str, Any], ...]  # (attname, value or callable)

    @classmethod
    def of(cls, model: type[models.Model]) -> RowShape:
        fields = model._meta.concrete_fields
        return cls(
            pk=model._meta.pk.attname,
            relations={f.name: f.attname for f in fields if f.is_relation},
            defaults=tuple(
                (f.attname, f.default if f.has_default() else f.get_default())
                for f in fields
                if not f.primary_key
            ),
        )


@dataclass
class Chunk:
    """Rows of one chunk of patients, in insert order."""

    portal_users: list[Row] = field(default_factory=list)
    patients: list[Row] = field(default_factory=list)
    courses: list[Row] = field(default_factory=list)
    relationships: list[Row] = field(default_factory=list)
    foci: list[Row] = field(default_factory=list)
    goals: list[Row] = field(default_factory=list)
    sessions: list[Row] = field(default_factory=list)
    session_foci: list[tuple[Row, Row]] = field(default_factory=list)
    measures: list[Row] = field(default_factory=list)
    reviews: list[Row] = field(default_factory=list)
    audit: list[Row] = field(default_factory=list)


class NetworkBuilder:
    """Generates and inserts the network; `counts` says how many rows of each kind it wrote."""

    def __init__(self, scale: float, seed: int, today: date) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (synthetic data, not secrets)
        self.today = today
        self.n_therapists = max(1, round(THERAPISTS * scale))
        self.n_patients = max(self.n_therapists, round(PATIENTS * scale))
        self.n_clinics = min(MAX_CLINICS, self.n_therapists)
        self.counts: dict[str, int] = {}
        self.last_ids: dict[type[models.Model], int] = {}
        self.shapes: dict[type[models.Model], RowShape] = {}
        self.password = "!" + self._text(40)  # unusable: Django never matches a hash starting with "!"

    # --- small helpers --------------------------------------------------------------------------------

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _text(self, length: int) -> str:
        return "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(length))

    def _at(self, day: date, hour: int = 9) -> datetime:
        # Rows dated on the day of seeding happened before dawn: nothing is stamped in the future,
        # and the data still depends on the date alone.
        if day >= self.today:
            hour = min(hour, 5)
        return datetime(day.year, day.month, day.day, hour, self.rng.randrange(60), tzinfo=UTC)

    def _new(self, model: type[models.Model], **values: Any) -> Row:
        """An unsaved row with its primary key already chosen, so rows can point at it before insert.

        A plain attribute bag, not a model instance: building 600,000 model instances
        was a third of the run. Related objects may be passed by field name, as to a model.
        """
        last = self.last_ids.get(model)
        if last is None:
            last = model.objects.aggregate(last=Max("pk"))["last"] or 0
        self.last_ids[model] = last + 1
        shape = self.shapes.get(model) or self.shapes.setdefault(model, RowShape.of(model))
        row = Row()
        attrs = row.__dict__
        attrs["pk"] = attrs[shape.pk] = last + 1
        for name, value in values.items():
            attname = shape.relations.get(name)
            if attname is not None:
                attrs[attname] = None if value is None else value.pk
            attrs[name] = value
        for attname, default in shape.defaults:
            if attname not in attrs:
                attrs[attname] = default() if callable(default) else default
        return row

    def _insert(self, model: type[models.Model], rows: list[Any]) -> None:
        if not rows:
            return
        if connection.vendor == "postgresql":
            copy_rows(model, rows)
        else:
            fields = [f.attname for f in model._meta.concrete_fields]
            instances = [model(**{name: getattr(row, name) for name in fields}) for row in rows]
            model.objects.bulk_create(instances, batch_size=BATCH)
        name = model._meta.model_name
        self.counts[name] = self.counts.get(name, 0) + len(rows)

    def reset_sequences(self) -> None:
        """Move PostgreSQL's id sequences past the ids chosen here (SQLite follows by itself)."""
        statements = connection.ops.sequence_reset_sql(no_style(), list(self.last_ids))
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    def _items(self, instrument: str, total: int, *, item9: bool = False) -> list[int]:
        """Item answers (0–3) adding up to `total`; item 9 of a PHQ-9 is 1 if `item9`, else 0."""
        n = len(measures.ITEMS[instrument])
        items = [0] * n
        free = list(range(n))
        if instrument == PHQ9:
            free.remove(measures.ITEM9_INDEX)
            if item9:
                items[measures.ITEM9_INDEX] = 1
                total -= 1
        total = max(0, min(total, 3 * len(free)))
        for _ in range(total):
            slot = self.rng.choice(free)
            items[slot] += 1
            if items[slot] == 3:
                free.remove(slot)
        return items

    def _measure(
        self, instrument: str, total: int, *, patient: Row, course: Row, on: date, **extra: Any
    ) -> Row:
        items = self._items(instrument, total, item9=extra.pop("item9", False))
        score = measures.score(instrument, items)
        return self._new(
            MeasureResponse,
            public_id=self._uuid(),
            patient=patient,
            course=course,
            instrument=instrument,
            items=items,
            difficulty=self.rng.randrange(4),
            total=score.total,
            band=score.band,
            item9_positive=score.item9_positive,
            taken_on=on,
            recorded_by=course.therapist,
            created_at=self._at(on, 10),
            **extra,
        )

    # --- the network ----------------------------------------------------------------------------------

    def build(self) -> dict[str, int]:
        clinics = [
            self._new(
                Clinic,
                public_id=self._uuid(),
                name=f"{SYNTHETIC_PREFIX}Clinic {n + 1:02d}",
                created_at=self._epoch(),
            )
            for n in range(self.n_clinics)
        ]
        self._insert(Clinic, clinics)
        therapists = [
            self._user(f"bench-t{n + 1:04d}", User.Role.THERAPIST, clinics[n % self.n_clinics])
            for n in range(self.n_therapists)
        ]
        admins = [
            self._user(f"bench-admin{n + 1:02d}", User.Role.CLINIC_ADMIN, c) for n, c in enumerate(clinics)
        ]
        self._insert(User, therapists + admins)
        self.admins_by_clinic = {a.clinic_id: a for a in admins}
        self._staff_logins(therapists + admins)

        for start in range(0, self.n_patients, CHUNK):
            chunk = Chunk()
            for index in range(start, min(start + CHUNK, self.n_patients)):
                self._patient(chunk, index, therapists[index % self.n_therapists])
            self._write(chunk)
        return self.counts

    def _epoch(self) -> datetime:
        return self._at(self.today - timedelta(days=1100))

    def _user(self, username: str, role: str, clinic: Row) -> Row:
        return self._new(
            User,
            public_id=self._uuid(),
            username=username,
            password=self.password,
            first_name=self.rng.choice(GIVEN),
            last_name=self.rng.choice(FAMILY),
            email=f"{username}@bench.invalid",
            role=role,
            clinic=clinic,
            date_joined=self._epoch(),
        )

    def _staff_logins(self, staff: list[Row]) -> None:
        events = []
        for user in staff:
            for days_ago in range(LOGIN_HISTORY_DAYS, 0, -LOGIN_EVERY_DAYS):
                day = self.today - timedelta(days=days_ago)
                events.append(self._audit(user, AuditEvent.Action.LOGIN, day, path="/login/"))
        self._insert(AuditEvent, events)

    def _audit(
        self,
        user: Row,
        action: str,
        day: date,
        *,
        path: str,
        obj: Any = None,
        patient: Patient | None = None,
    ) -> Row:
        return self._new(
            AuditEvent,
            at=self._at(day, self.rng.randrange(8, 18)),
            user=user,
            username=user.username,
            role=user.role,
            clinic_id=user.clinic_id,
            action=action,
            object_type="Patient" if obj is not None else "",  # the only object audited here
            object_id=str(obj.public_id) if obj is not None else "",
            patient_public_id=patient.public_id if patient is not None else None,
            ip=f"10.{self.rng.randrange(256)}.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}",
            path=path,
        )

    def _patient(self, chunk: Chunk, index: int, therapist: Row) -> None:
        rng = self.rng
        portal = None
        if index % PORTAL_EVERY == 0:
            portal = self._user(f"bench-p{index + 1:06d}", User.Role.PATIENT, therapist.clinic)
            chunk.portal_users.append(portal)
        created = self.today - timedelta(days=rng.randrange(30, 1000))
        patient = self._new(
            Patient,
            public_id=self._uuid(),
            clinic_id=therapist.clinic_id,
            therapist=therapist,
            portal_user=portal,
            given_name=rng.choice(GIVEN),
            family_name=rng.choice(FAMILY),
            date_of_birth=self.today - timedelta(days=rng.randrange(18 * 365, 80 * 365)),
            conditions=rng.sample(
                ["depression", "anxiety", "ptsd", "eating_disorder"], rng.choice((1, 1, 2))
            ),
            medication=rng.choice(("", "", "Sertraline 100 mg daily", "Citalopram 20 mg daily")),
            presenting_concerns="Low mood since a change in an important relationship.",
            created_at=self._at(created),
        )
        chunk.patients.append(patient)

        admin = self.admins_by_clinic[therapist.clinic_id]
        for _ in range(AUDIT_PER_PATIENT):
            actor = therapist if rng.random() < 0.85 else admin
            action = rng.choices(
                (AuditEvent.Action.VIEW, AuditEvent.Action.LIST, AuditEvent.Action.CREATE,
                 AuditEvent.Action.UPDATE, AuditEvent.Action.SIGN, AuditEvent.Action.DENIED),
                (60, 10, 12, 8, 9, 1),
            )[0]  # fmt: skip
            day = self.today - timedelta(days=rng.randrange(0, 365))
            chunk.audit.append(
                self._audit(
                    actor, action, day, path=f"/patients/{patient.public_id}/", obj=patient, patient=patient
                )
            )

        roll = rng.random()
        if roll < 0.04:  # a new referral: no course yet
            return
        current_status = rng.choices(
            (Course.Status.ACTIVE, Course.Status.COMPLETED, Course.Status.DISCONTINUED), (55, 35, 10)
        )[0]
        current_start = self._current_start(current_status)
        if rng.random() < 0.4:  # an earlier, completed course
            planned = rng.randint(ipt.MIN_PLANNED_SESSIONS, ipt.MAX_PLANNED_SESSIONS)
            earlier_start = current_start - timedelta(days=planned * 14 + rng.randrange(60, 400))
            self._course(chunk, patient, therapist, Course.Status.COMPLETED, earlier_start, planned)
        planned = rng.randint(ipt.MIN_PLANNED_SESSIONS, ipt.MAX_PLANNED_SESSIONS)
        self._course(chunk, patient, therapist, current_status, current_start, planned)

    def _current_start(self, status: str) -> date:
        rng = self.rng
        if status == Course.Status.ACTIVE:
            # Up to a week ahead: a course agreed at intake whose first session is still to come.
            return self.today - timedelta(days=rng.randrange(-7, 16 * 7))
        return self.today - timedelta(days=rng.randrange(240, 700))

    def _course(
        self, chunk: Chunk, patient: Row, therapist: Row, status: str, start: date, planned: int
    ) -> None:
        rng = self.rng
        frequency = Course.Frequency.FORTNIGHTLY if rng.random() < 0.1 else Course.Frequency.WEEKLY
        interval = 14 if frequency == Course.Frequency.FORTNIGHTLY else 7
        if status == Course.Status.ACTIVE:
            # Sessions so far follow from the start date; about 5% fell behind (overdue).
            elapsed = (self.today - start).days
            done = min(planned, elapsed // interval + 1 if elapsed >= 0 else 0)
            if rng.random() < 0.05 and done > 2:
                done -= 2
        elif status == Course.Status.COMPLETED:
            done = planned + (rng.randrange(1, 4) if rng.random() < 0.1 else 0)  # some maintenance
        else:
            done = rng.randint(2, planned - 3)

        course = self._new(
            Course,
            public_id=self._uuid(),
            patient=patient,
            therapist=therapist,
            planned_sessions=planned,
            frequency=frequency,
            start_date=start,
            status=status,
            share_scores_with_patient=rng.random() < 0.5,
            psychoeducation_on=start if done >= 1 else None,
            created_at=self._at(start, 8),
        )
        if done >= 3:
            course.formulation = "Depression linked to changes in close relationships; agreed focus below."
            course.formulation_shared_on = start + timedelta(days=2 * interval)
            course.formulation_agreed = True
            course.contract_date = course.formulation_shared_on
            course.middle_phase_started_on = start + timedelta(days=3 * interval)
        if done >= planned - 3 and done >= 4:
            course.ending_discussed_on = start + timedelta(days=(planned - 4) * interval)
            course.relapse_warning_signs = "Withdrawing from friends; sleeping badly."
            course.coping_plan = "Call a friend; keep the weekly walk."
        chunk.courses.append(course)

        # Inventory and problem areas once the initial assessment has begun.
        people: list[Row] = []
        foci: list[Row] = []
        goals: list[Row] = []
        if done >= 2:
            for relationship, name in rng.sample(PEOPLE, rng.randint(3, 6)):
                people.append(
                    self._new(
                        RelationshipEntry,
                        public_id=self._uuid(),
                        course=course,
                        name=name,
                        relationship=relationship,
                        closeness_ring=rng.randint(1, 3),
                        contact=rng.choice(("daily", "weekly", "monthly")),
                        positives="Supportive when things are calm.",
                        negatives="Hard to talk to about feelings.",
                        desired_change=rng.choice(("", "Talk more openly", "See them more often")),
                        expectations_met=rng.choice(("yes", "partly", "no")),
                        created_at=self._at(start + timedelta(days=interval), 11),
                    )
                )
            chunk.relationships.extend(people)
            areas = [rng.choice(AREAS)]
            if areas[0] != Area.INTERPERSONAL_DEFICITS and rng.random() < 0.25:
                areas.append(
                    rng.choice([a for a in AREAS if a not in (areas[0], Area.INTERPERSONAL_DEFICITS)])
                )
            for position, area in enumerate(areas):
                person = people[position] if area in (Area.GRIEF, Area.ROLE_DISPUTE) else None
                if area == Area.GRIEF:
                    person.is_deceased = True
                focus = self._new(
                    ProblemAreaFocus,
                    public_id=self._uuid(),
                    course=course,
                    area=area,
                    is_primary=position == 0,
                    rationale="Onset of the episode follows this.",
                    person=person,
                    dispute_stage=rng.choice(DISPUTE_STAGES) if area == Area.ROLE_DISPUTE else "",
                    old_role="Full-time work" if area == Area.ROLE_TRANSITION else "",
                    new_role="Retired" if area == Area.ROLE_TRANSITION else "",
                    date_of_death=start - timedelta(days=rng.randrange(60, 500))
                    if area == Area.GRIEF
                    else None,
                    created_at=self._at(start + timedelta(days=2 * interval), 12),
                )
                foci.append(focus)
                for text in GOALS[area]:
                    achieved = status == Course.Status.COMPLETED and rng.random() < 0.6
                    goals.append(
                        self._new(
                            Goal,
                            public_id=self._uuid(),
                            focus=focus,
                            text=text,
                            status=Goal.Status.ACHIEVED if achieved else Goal.Status.ACTIVE,
                            visible_to_patient=rng.random() < 0.85,
                            created_at=self._at(start + timedelta(days=2 * interval), 13),
                        )
                    )
            chunk.foci.extend(foci)
            chunk.goals.extend(goals)

        self._sessions(chunk, course, therapist, done, interval, foci, goals)
        if status != Course.Status.ACTIVE and chunk.sessions:
            last = chunk.sessions[-1].date
            course.end_date = max(last, start)
            course.end_reason = (
                "Planned ending." if status == Course.Status.COMPLETED else "Stopped attending."
            )
            if status == Course.Status.COMPLETED:
                course.continuation_decision = rng.choice(CONTINUATIONS)

    def _sessions(
        self,
        chunk: Chunk,
        course: Row,
        therapist: Row,
        done: int,
        interval: int,
        foci: list[Row],
        goals: list[Row],
    ) -> None:
        rng = self.rng
        patient = course.patient
        phq_base, gad_base = rng.randint(10, 24), rng.randint(8, 19)
        phq_end, gad_end = round(phq_base * rng.uniform(0.2, 0.95)), round(gad_base * rng.uniform(0.2, 0.95))
        chunk.measures.append(
            self._measure(PHQ9, phq_base, patient=patient, course=course, on=course.start_date)
        )
        chunk.measures.append(
            self._measure(GAD7, gad_base, patient=patient, course=course, on=course.start_date)
        )
        draft_last = course.status == Course.Status.ACTIVE and rng.random() < 0.2
        strategies = [code for code, _ in ipt.AREA_GUIDES[foci[0].area].strategies] if foci else []
        slot, number = 0, 0
        while number < done:
            day = course.start_date + timedelta(days=slot * interval)
            slot += 1
            if day > self.today:
                break
            missed = rng.random() < 0.08
            attendance = (
                rng.choice((Attendance.CANCELLED, Attendance.NO_SHOW)) if missed else Attendance.ATTENDED
            )
            if not missed:
                number += 1
            phase = ipt.default_phase(number or 1, course.planned_sessions, initial_closed=number > 3)
            signed = not (draft_last and number == done)
            clinical = not missed and phase != Phase.INITIAL
            item9 = not missed and rng.random() < 0.02
            session = self._new(
                TherapySession,
                public_id=self._uuid(),
                course=course,
                number=None if missed else number,
                date=day,
                duration_minutes=50,
                modality=rng.choice(MODALITIES),
                attendance=attendance,
                phase=phase,
                strategies=rng.sample(strategies, 2) if clinical and strategies else [],
                techniques=rng.sample(TECHNIQUES, 2) if not missed else [],
                events_since_last=rng.choice(EVENTS),
                task_type=rng.choice(TASK_TYPES) if clinical else "",
                task_text="Practise the conversation we rehearsed." if clinical else "",
                last_task_outcome=rng.choice(TASK_OUTCOMES) if clinical and number > 4 else "",
                risk_ideation=("passive" if item9 else rng.choice(("", "none"))) if not missed else "",
                risk_plan=False if item9 else None,
                risk_intent=False if item9 else None,
                safety_plan="Agreed safety plan; crisis line number given." if item9 else "",
                risk_action_taken="Reviewed with supervisor." if item9 else "",
                private_note="Bench note." if not missed else "",
                signed_at=self._at(day, 17) if signed else None,
                signed_by=therapist if signed else None,
                version=1,
                created_at=self._at(day, 16),
                updated_at=self._at(day, 17),
            )
            chunk.sessions.append(session)
            if missed:
                continue
            progress = number / max(done, 1)
            phq = round(phq_base + (phq_end - phq_base) * progress) + rng.randint(-2, 2)
            gad = round(gad_base + (gad_end - gad_base) * progress) + rng.randint(-2, 2)
            chunk.measures.append(
                self._measure(PHQ9, phq, patient=patient, course=course, on=day, session=session, item9=item9)
            )
            chunk.measures.append(
                self._measure(GAD7, gad, patient=patient, course=course, on=day, session=session)
            )
            if clinical:
                chunk.session_foci.extend((session, focus) for focus in foci)
                step = min(3, int(progress * 4))
                for goal in goals:
                    chunk.reviews.append(
                        self._new(
                            GoalReview,
                            public_id=self._uuid(),
                            goal=goal,
                            session=session,
                            progress=PROGRESS[step],
                            created_at=self._at(day, 16),
                        )
                    )

    def _write(self, chunk: Chunk) -> None:
        self._insert(User, chunk.portal_users)
        self._insert(Patient, chunk.patients)
        self._insert(Course, chunk.courses)
        self._insert(RelationshipEntry, chunk.relationships)
        self._insert(ProblemAreaFocus, chunk.foci)
        self._insert(Goal, chunk.goals)
        self._insert(TherapySession, chunk.sessions)
        Link = TherapySession.foci.through
        self._insert(
            Link,
            [
                self._new(Link, therapysession_id=s.pk, problemareafocus_id=f.pk)
                for s, f in chunk.session_foci
            ],
        )
        self._insert(MeasureResponse, chunk.measures)
        self._insert(GoalReview, chunk.reviews)
        self._insert(AuditEvent, chunk.audit)


class Command(BaseCommand):
    help = "Build a deterministic synthetic clinic network for the benchmark (refuses non-synthetic data)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale",
            default="1",
            help="Size relative to 50 therapists / 5,000 patients / 75,000 sessions (e.g. 0.1, 1, 10).",
        )
        parser.add_argument("--seed", type=int, default=SEED, help="Random seed (default %(default)s).")

    def handle(self, *args: Any, **options: Any) -> None:
        scale = parse_scale(options["scale"])
        reason = refusal_reason()
        if reason:
            raise CommandError(reason)
        started = time.monotonic()
        builder = NetworkBuilder(scale, options["seed"], timezone.localdate())
        with explicit_timestamps(), transaction.atomic():
            counts = builder.build()
            builder.reset_sequences()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # VACUUM too: it sets the visibility map, so counts can be index-only scans
                # as on a database that autovacuum has been looking after. (Not possible
                # inside a caller's transaction, as in tests: ANALYZE alone there.)
                cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
        elapsed = time.monotonic() - started
        summary = ", ".join(f"{n:,} {name}" for name, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Seeded scale {scale:g} in {elapsed:.1f} s: {summary}."))
