"""Forms for running the clinic: staff accounts, portal accounts, deactivation, reassignment, activation.

They validate input only; `sessions_app.services.accounts` does the writing.
None of them takes a password from a staff member: owners set their own.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from sessions_app.models import Patient, User

USERNAME_HELP = "Letters, digits and @ . + - _ only. The person signs in with it."


def _username_field() -> forms.CharField:
    return forms.CharField(
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text=USERNAME_HELP,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )


def _clean_new_username(value: str) -> str:
    value = value.strip()
    # Case-insensitive: "Ada" and "ada" as two accounts would only confuse people signing in.
    if User.objects.filter(username__iexact=value).exists():
        raise ValidationError("This username is already taken: choose another.", code="username_taken")
    return value


def suggested_username(patient: Patient) -> str:
    """A starting suggestion for a patient's username (staff may change it)."""
    return re.sub(r"[^\w.@+-]", "", f"{patient.given_name}.{patient.family_name}".lower())[:150]


class StaffAccountForm(forms.Form):
    """A new therapist or clinic admin of the admin's own clinic (the clinic comes from the view)."""

    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    username = _username_field()
    email = forms.EmailField(
        max_length=254, help_text="The activation link goes here; staff need an address to receive it."
    )
    role = forms.ChoiceField(
        choices=[(User.Role.THERAPIST, "Therapist"), (User.Role.CLINIC_ADMIN, "Clinic admin")],
        widget=forms.RadioSelect,
        initial=User.Role.THERAPIST,
    )

    def clean_username(self) -> str:
        return _clean_new_username(self.cleaned_data["username"])


class PortalAccountForm(forms.Form):
    """A portal account for a patient; the name comes from the patient record."""

    username = _username_field()
    email = forms.EmailField(
        max_length=254,
        required=False,
        help_text=(
            "The activation link is emailed here. Leave it empty to hand the link over in person: "
            "it is shown to you once."
        ),
    )

    def clean_username(self) -> str:
        return _clean_new_username(self.cleaned_data["username"])


class StaffDeactivateForm(forms.Form):
    """Confirm a deactivation; with active patients, the admin must say they will be reassigned."""

    confirm_patients = forms.BooleanField(
        required=False,
        label="I understand that these patients need another therapist, and I will reassign them.",
    )

    def __init__(self, *args, active_patients: int, **kwargs) -> None:
        self.active_patients = active_patients
        super().__init__(*args, **kwargs)
        if not active_patients:
            del self.fields["confirm_patients"]

    def clean_confirm_patients(self) -> bool:
        confirmed = self.cleaned_data["confirm_patients"]
        if not confirmed:
            raise ValidationError(
                "This therapist still has active patients: tick the box to confirm you will reassign them.",
                code="patients_not_confirmed",
            )
        return confirmed


class PublicIdChoiceField(forms.ModelChoiceField):
    """A choice of rows by public id, where a malformed id is just another invalid choice."""

    def __init__(self, **kwargs) -> None:
        super().__init__(queryset=User.objects.none(), to_field_name="public_id", **kwargs)

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError as exc:
            # UUIDField raises its own "not a valid UUID" for junk; say what the user can act on.
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice") from exc


class ReassignForm(forms.Form):
    """Another active therapist of the same clinic, and why."""

    to_therapist = PublicIdChoiceField(
        label="New therapist",
        empty_label="Choose a therapist",
        error_messages={
            "invalid_choice": "Choose one of the active therapists of this clinic listed here.",
        },
    )
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded with the reassignment and shown on the course page.",
        error_messages={"required": "Say why the patient moves to another therapist."},
    )

    def __init__(self, *args, therapists: QuerySet[User], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_therapist"].queryset = therapists
        self.fields["to_therapist"].label_from_instance = lambda user: user.display_name


class ActivationPasswordForm(SetPasswordForm):
    """The owner chooses their password (Django's validators apply, with the account as context)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = "Choose a password"
        self.fields["new_password2"].label = "The same password again"
