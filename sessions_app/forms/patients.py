"""Forms of the therapist's own pages: add a patient, start a course, filter the caseload.

They validate input only; `sessions_app.services.patients` does the writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import Truncator

from sessions_app import ipt
from sessions_app.forms.course import DateInput, planned_sessions_field
from sessions_app.models import Course, Patient
from sessions_app.querysets import ANY_STATUS, NO_COURSE
from sessions_app.services.patients import ACTIVE_COURSE_MESSAGE, ARCHIVED_MESSAGE

# Nobody on a clinic's books is older than this: an older date of birth is a typing slip.
MAX_AGE_YEARS = 120
# A course may be entered when it is already running, or set up ahead of the first meeting.
COURSE_START_MAX_DAYS_BACK = 365
COURSE_START_MAX_DAYS_AHEAD = 90


class PatientForm(forms.ModelForm):
    """A new patient of the signed-in therapist (their clinic and therapist come from the view)."""

    conditions = forms.MultipleChoiceField(
        label="Diagnosis and conditions",
        choices=Patient.Condition.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Patient
        fields = [
            "given_name",
            "family_name",
            "date_of_birth",
            "conditions",
            "conditions_other",
            "medication",
            "presenting_concerns",
        ]
        labels = {"medication": "Current medication"}
        widgets = {
            "date_of_birth": DateInput(),
            "medication": forms.Textarea(attrs={"rows": 2}),
            "presenting_concerns": forms.Textarea(attrs={"rows": 3}),
        }

    def clean_given_name(self) -> str:
        return self.cleaned_data["given_name"].strip()

    def clean_family_name(self) -> str:
        return self.cleaned_data["family_name"].strip()

    def clean_date_of_birth(self) -> date:
        born = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born > today:
            raise ValidationError("The date of birth is in the future.", code="future")
        # 1 January of the year MAX_AGE_YEARS ago: simple, and leap-year safe.
        if born < date(today.year - MAX_AGE_YEARS, 1, 1):
            raise ValidationError(
                f"That would make the patient over {MAX_AGE_YEARS}: check the year.", code="too_old"
            )
        return born

    def clean(self) -> dict:
        cleaned = super().clean()
        conditions = cleaned.get("conditions") or []
        other = (cleaned.get("conditions_other") or "").strip()
        cleaned["conditions_other"] = other
        if Patient.Condition.OTHER in conditions and not other:
            self.add_error("conditions_other", "Name the other condition.")
        if other and Patient.Condition.OTHER not in conditions:
            # Naming another condition means it applies: tick "Other" rather than lose the text.
            cleaned["conditions"] = [*conditions, Patient.Condition.OTHER.value]
        return cleaned


class CourseStartForm(forms.ModelForm):
    """A new IPT course: format, planned sessions (12–16), frequency and start date."""

    planned_sessions = planned_sessions_field(
        label="Planned sessions",
        help_text=(
            f"Individual IPT plans {ipt.MIN_PLANNED_SESSIONS}–{ipt.MAX_PLANNED_SESSIONS} sessions; "
            "the contract may be revised later, with a reason."
        ),
    )

    class Meta:
        model = Course
        fields = ["format", "planned_sessions", "frequency", "start_date"]
        labels = {"start_date": "Start date (first session)"}
        widgets = {"start_date": DateInput()}

    def __init__(self, *args, patient: Patient, **kwargs) -> None:
        self.patient = patient
        # The model's own checks (clean(), constraints) run against the real patient and therapist.
        kwargs.setdefault("instance", Course(patient=patient, therapist=patient.therapist))
        # Passed as `initial`, not set on the fields: the blank instance's values would win.
        kwargs["initial"] = {"start_date": timezone.localdate(), **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)

    def clean_start_date(self) -> date:
        start = self.cleaned_data["start_date"]
        today = timezone.localdate()
        if start > today + timedelta(days=COURSE_START_MAX_DAYS_AHEAD):
            raise ValidationError(
                f"A course can be set up at most {COURSE_START_MAX_DAYS_AHEAD} days ahead.",
                code="too_far_ahead",
            )
        if start < today - timedelta(days=COURSE_START_MAX_DAYS_BACK):
            raise ValidationError(
                "A course cannot be entered more than a year after it started.", code="too_far_back"
            )
        if start < self.patient.date_of_birth:
            raise ValidationError("The course cannot start before the patient was born.", code="before_birth")
        return start

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.patient.archived_at is not None:
            raise ValidationError(ARCHIVED_MESSAGE, code="archived")
        if self.patient.courses.filter(status=Course.Status.ACTIVE).exists():
            raise ValidationError(ACTIVE_COURSE_MESSAGE, code="active_course_exists")
        return cleaned


# --- The dashboard's filters ---------------------------------------------------------------------------

STATUS_CHOICES = [
    (Course.Status.ACTIVE.value, "Active courses"),
    (Course.Status.COMPLETED.value, "Completed courses"),
    (Course.Status.DISCONTINUED.value, "Discontinued courses"),
    (NO_COURSE, "No course yet"),
    (ANY_STATUS, "All patients"),
]
DEFAULT_STATUS = Course.Status.ACTIVE.value


@dataclass(frozen=True)
class DashboardFilters:
    """The filters in force: the valid ones typed, the defaults for the rest."""

    q: str = ""
    status: str = DEFAULT_STATUS
    phase: str = ""
    area: str = ""
    page: int | None = None
    # Why a typed value was set aside, for the page to say so.
    notices: list[str] = field(default_factory=list)

    def query(self) -> dict[str, str]:
        """The filters as GET parameters, without the defaults or the page: for page links."""
        params = {"q": self.q, "status": self.status, "phase": self.phase, "area": self.area}
        if params["status"] == DEFAULT_STATUS:
            params["status"] = ""
        return {name: value for name, value in params.items() if value}

    @property
    def is_filtered(self) -> bool:
        return bool(self.query())


class DashboardFilterForm(forms.Form):
    """Search and filters of the therapist's caseload. Bad values fall back to defaults, with a notice."""

    q = forms.CharField(label="Search by name", max_length=100, required=False)
    status = forms.ChoiceField(label="Status", choices=STATUS_CHOICES, required=False)
    phase = forms.ChoiceField(label="Phase", choices=[("", "Any phase"), *ipt.Phase.choices], required=False)
    area = forms.ChoiceField(
        label="Problem area", choices=[("", "Any problem area"), *ipt.ProblemArea.choices], required=False
    )
    # Not shown as a field: the page links carry it.
    page = forms.IntegerField(min_value=1, required=False)

    # What each field falls back to when its value is not understood.
    FALLBACK = {
        "q": "The search “{value}” could not be used: searching all names.",
        "status": "Unknown status “{value}”: showing active courses.",
        "phase": "Unknown phase “{value}”: showing every phase.",
        "area": "Unknown problem area “{value}”: showing every problem area.",
        "page": "“{value}” is not a page number: showing page 1.",
    }

    def filters(self) -> DashboardFilters:
        """The filters to apply. Call after is_valid(): invalid fields fall back to their default."""
        cleaned = self.cleaned_data
        notices = [
            self.FALLBACK[name].format(value=Truncator(str(self.data.get(name, ""))).chars(40))
            for name in self.FALLBACK
            if name in self.errors
        ]
        return DashboardFilters(
            q=(cleaned.get("q") or "").strip(),
            status=cleaned.get("status") or DEFAULT_STATUS,
            phase=cleaned.get("phase") or "",
            area=cleaned.get("area") or "",
            page=cleaned.get("page"),
            notices=notices,
        )
