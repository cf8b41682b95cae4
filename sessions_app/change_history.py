"""A course's change history, from django-simple-history: who changed which field, from what to what.

Reads every historical row of the course, its patient, problem areas,
sessions, goals, inventory and questionnaires in one query per model, and
works out the field changes in Python by comparing each row with the one
before it for the same record. The number of queries therefore never depends
on the number of changes. Values of private fields (the private note, the
risk check, the formulation) are replaced by "changed" unless the reader is
the treating therapist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.text import Truncator

from sessions_app.models import (
    Course,
    Goal,
    MeasureResponse,
    Patient,
    ProblemAreaFocus,
    RelationshipEntry,
    TherapySession,
    User,
)

# Bookkeeping columns: they change on every save and say nothing to a reader.
SKIP_FIELDS = {"id", "public_id", "created_at", "updated_at", "version", "submission_key"}
# Fields whose values only the treating therapist may read (DESIGN.md §1, decisions "Access").
PRIVATE_FIELDS: dict[type[models.Model], set[str]] = {
    TherapySession: {
        "private_note",
        "risk_ideation",
        "risk_plan",
        "risk_intent",
        "safety_plan",
        "risk_action_taken",
    },
    Course: {"formulation"},
}
TEXT_LIMIT = 300
EMPTY = "—"


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str
    hidden: bool = False  # the values are private: only the fact of the change is shown


@dataclass
class Entry:
    """One save (or creation, or deletion) of one record."""

    at: datetime
    who: str
    record: str
    kind: str  # "created", "changed", "deleted"
    changes: list[FieldChange] = field(default_factory=list)


def _histories(course: Course) -> list[tuple[type[models.Model], models.QuerySet]]:
    """The historical rows of everything under `course`, one queryset per model, oldest first."""
    session_ids = TherapySession.history.filter(course_id=course.pk).values("id")
    focus_ids = ProblemAreaFocus.history.filter(course_id=course.pk).values("id")
    sources: list[tuple[type[models.Model], models.QuerySet]] = [
        (Patient, Patient.history.filter(id=course.patient_id)),
        (Course, Course.history.filter(id=course.pk)),
        (ProblemAreaFocus, ProblemAreaFocus.history.filter(course_id=course.pk)),
        (RelationshipEntry, RelationshipEntry.history.filter(course_id=course.pk)),
        (Goal, Goal.history.filter(focus_id__in=focus_ids)),
        (TherapySession, TherapySession.history.filter(course_id=course.pk)),
        (
            MeasureResponse,
            MeasureResponse.history.filter(Q(course_id=course.pk) | Q(session_id__in=session_ids)),
        ),
    ]
    return [
        (model, rows.select_related("history_user").order_by("id", "history_date", "history_id"))
        for model, rows in sources
    ]


def _label(model: type[models.Model], row: Any) -> str:
    """How a record is named on the page, from its latest historical row."""
    if model is Patient:
        return "Patient record"
    if model is Course:
        return "Course"
    if model is ProblemAreaFocus:
        return f"Problem area: {_choice(model, 'area', row.area)}"
    if model is RelationshipEntry:
        return f"Inventory: {row.name}"
    if model is Goal:
        return f"Goal: {Truncator(row.text).chars(60)}"
    if model is TherapySession:
        if row.number:
            return f"Session {row.number}"
        return f"{_choice(model, 'attendance', row.attendance)} session on {row.date:%d %b %Y}"
    if model is MeasureResponse:
        return f"{_choice(model, 'instrument', row.instrument)} of {row.taken_on:%d %b %Y}"
    return model._meta.verbose_name.capitalize()


def _choice(model: type[models.Model], name: str, value: Any) -> str:
    return str(dict(model._meta.get_field(name).flatchoices).get(value, value))


def _who(row: Any) -> str:
    user = row.history_user
    if user is None:
        return "System (no signed-in user)"
    return f"{user.display_name} ({user.get_role_display().lower() or 'administrator'})"


class _Display:
    """Turns stored values into what a reader understands, without further queries."""

    def __init__(self, people: dict[int, str], labels: dict[type[models.Model], dict[int, str]]) -> None:
        self.people = people
        self.labels = labels

    def __call__(self, model_field: models.Field, value: Any) -> str:
        if value is None or value == "" or value == []:
            return EMPTY
        if model_field.is_relation:
            target = model_field.related_model
            if target is User:
                return self.people.get(value, "another account")
            return self.labels.get(target, {}).get(value, "another record")
        if model_field.choices:
            return str(dict(model_field.flatchoices).get(value, value))
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, datetime):
            return f"{timezone.localtime(value):%d %b %Y %H:%M}"
        if isinstance(value, date):
            return f"{value:%d %b %Y}"
        if isinstance(value, list):
            return ", ".join(str(v) for v in value) or EMPTY
        return Truncator(str(value)).chars(TEXT_LIMIT)


def _fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if f.name not in SKIP_FIELDS]


def course_history(course: Course, *, show_private: bool) -> list[Entry]:
    """Every change under `course`, newest first. Private values only when `show_private`."""
    loaded = [(model, list(rows)) for model, rows in _histories(course)]
    labels = {model: {row.id: _label(model, row) for row in rows} for model, rows in loaded}
    people = {
        u.pk: u.display_name
        for u in User.objects.filter(clinic_id=course.patient.clinic_id).exclude(role=User.Role.PATIENT)
    }
    show = _Display(people, labels)
    entries: list[Entry] = []
    for model, rows in loaded:
        private = PRIVATE_FIELDS.get(model, set())
        fields = _fields(model)
        previous: dict[int, Any] = {}
        for row in rows:
            before = previous.get(row.id)
            previous[row.id] = row
            record = labels[model][row.id]
            if row.history_type == "+" or before is None:
                entries.append(Entry(row.history_date, _who(row), record, "created"))
                continue
            if row.history_type == "-":
                entries.append(Entry(row.history_date, _who(row), record, "deleted"))
                continue
            changes = []
            for f in fields:
                old, new = getattr(before, f.attname), getattr(row, f.attname)
                if old == new:
                    continue
                label = str(f.verbose_name).capitalize()
                if f.name in private and not show_private:
                    changes.append(FieldChange(label, "", "", hidden=True))
                else:
                    changes.append(FieldChange(label, show(f, old), show(f, new)))
            if changes:
                entries.append(Entry(row.history_date, _who(row), record, "changed", changes))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries
