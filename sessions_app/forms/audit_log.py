"""The clinic admin's audit-log filters: who, which patient, what, and any date range.

Values that cannot be used are left out of the filter and the page says
which, beside the field (as on the therapist's dashboard): the list never
crashes on a hand-edited query string, and what was typed stays in the box.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.text import Truncator

from sessions_app.forms.course import DateInput
from sessions_app.models import AuditEvent, Patient, User


class AccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.display_name} ({obj.get_role_display().lower()}, {obj.username})"


@dataclass
class AuditFilters:
    """The filters in force, after bad values were dropped."""

    user: User | None = None
    patient_text: str = ""
    patients: QuerySet[Patient] | None = None  # the clinic's patients the patient filter matched
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None
    page: int | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def is_filtered(self) -> bool:
        return bool(self.user or self.patient_text or self.action or self.date_from or self.date_to)

    def query(self, raw: dict[str, str]) -> dict[str, str]:
        """The query-string values to carry into page and export links (what was typed, not the page)."""
        return {k: v for k, v in raw.items() if k in AuditFilterForm.base_fields and k != "page" and v}

    def apply(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        if self.user is not None:
            # Failed sign-ins against the account have no user, only the username typed.
            events = events.filter(Q(user=self.user) | Q(user__isnull=True, username=self.user.username))
        if self.patients is not None:
            events = events.filter(patient_public_id__in=self.patients.values("public_id"))
        if self.action:
            events = events.filter(action=self.action)
        if self.date_from:
            events = events.filter(at__gte=start_of(self.date_from))
        if self.date_to:
            events = events.filter(at__lt=start_of(self.date_to + timedelta(days=1)))
        return events


def start_of(day: date) -> datetime:
    """Midnight at the start of `day` in the clinic's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


class AuditFilterForm(forms.Form):
    user = AccountChoiceField(
        label="Who",
        queryset=User.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label="Anyone",
    )
    patient = forms.CharField(
        label="Patient",
        max_length=100,
        required=False,
        help_text="A name, or the patient’s record id.",
    )
    action = forms.ChoiceField(
        label="What", choices=[("", "Any action"), *AuditEvent.Action.choices], required=False
    )
    date_from = forms.DateField(label="From", required=False, widget=DateInput())
    date_to = forms.DateField(label="To", required=False, widget=DateInput())
    # Not shown as a field: the page links carry it.
    page = forms.IntegerField(min_value=1, required=False)

    FALLBACK = {
        "user": "“{value}” is not an account of this clinic: showing everyone.",
        "patient": "The patient search “{value}” could not be used: showing every patient.",
        "action": "Unknown action “{value}”: showing every action.",
        "date_from": "“{value}” is not a date: no start date applied.",
        "date_to": "“{value}” is not a date (or is before the start date): no end date applied.",
        "page": "“{value}” is not a page number: showing page 1.",
    }

    def __init__(self, data, *, clinic_id: int) -> None:
        super().__init__(data)
        self.clinic_id = clinic_id
        self.fields["user"].queryset = User.objects.filter(clinic_id=clinic_id, is_superuser=False).order_by(
            "role", "last_name", "first_name", "username"
        )

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filters(self) -> AuditFilters:
        """The filters to apply. Call after is_valid(): invalid fields are left out, with a notice."""
        cleaned = self.cleaned_data
        notices = [
            self.FALLBACK[name].format(value=Truncator(str(self.data.get(name, ""))).chars(40))
            for name in self.FALLBACK
            if name in self.errors
        ]
        text = (cleaned.get("patient") or "").strip()
        patients = None
        if text:
            patients = Patient.objects.filter(clinic_id=self.clinic_id)
            try:
                patients = patients.filter(public_id=uuid.UUID(text))
            except ValueError:
                patients = patients.search(text)
        return AuditFilters(
            user=cleaned.get("user"),
            patient_text=text,
            patients=patients,
            action=cleaned.get("action") or "",
            date_from=cleaned.get("date_from"),
            date_to=cleaned.get("date_to") if "date_to" not in self.errors else None,
            page=cleaned.get("page"),
            notices=notices,
        )
