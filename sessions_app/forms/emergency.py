"""The emergency ("break the glass") access form: who, exactly, and why."""

from __future__ import annotations

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from sessions_app.forms.course import DateInput
from sessions_app.models import EmergencyAccess

REASON_MAX_LENGTH = 2000


class EmergencyAccessForm(forms.Form):
    """The patient's exact name and date of birth, and the reason for opening their record."""

    given_name = forms.CharField(label="Given name", max_length=100)
    family_name = forms.CharField(label="Family name", max_length=100)
    date_of_birth = forms.DateField(label="Date of birth", widget=DateInput())
    reason = forms.CharField(
        label="Reason",
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=(
            f"At least {EmergencyAccess.REASON_MIN_LENGTH} characters: what has happened and why you need "
            "this record now. Your clinic admin reads it."
        ),
    )

    def clean_date_of_birth(self) -> date:
        born = self.cleaned_data["date_of_birth"]
        if born > timezone.localdate():
            raise ValidationError("The date of birth is in the future.", code="future")
        return born

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if len(reason) < EmergencyAccess.REASON_MIN_LENGTH:
            raise ValidationError(
                f"Give the reason in at least {EmergencyAccess.REASON_MIN_LENGTH} characters "
                f"(you wrote {len(reason)}).",
                code="reason_too_short",
            )
        return reason
