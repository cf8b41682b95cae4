"""Forms of the initial-phase stepper, one per step (ipt-domain.md §1.1).

Wording of the questionnaires comes from `measures`, the problem areas and
their rules from `ipt`. The forms validate; `services.courses` writes.
"""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import BaseModelFormSet, modelformset_factory
from django.utils import timezone

from sessions_app import ipt, measures
from sessions_app.forms.course import DateInput, not_in_future, planned_sessions_field
from sessions_app.models import Course, Goal, Patient, ProblemAreaFocus, RelationshipEntry
from sessions_app.services.courses import FocusInput

# --- Step 1: symptom review -----------------------------------------------------------------------


def _answer_field(label: str, choices, *, required: bool) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=choices,
        coerce=int,
        empty_value=None,
        required=required,
        widget=forms.RadioSelect,
    )


def _item_name(instrument: str, number: int) -> str:
    return f"{instrument}_{number}"


class SymptomReviewForm(forms.Form):
    """PHQ-9 (required) and GAD-7 (optional) item by item, conditions and medication."""

    taken_on = forms.DateField(
        label="Questionnaires completed on", widget=DateInput(), validators=[not_in_future]
    )
    conditions = forms.MultipleChoiceField(
        label="Diagnosis and conditions",
        choices=Patient.Condition.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    conditions_other = forms.CharField(label="Other condition", max_length=200, required=False)
    medication = forms.CharField(
        label="Current medication",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    medication_reviewed_on = forms.DateField(
        label="Need for medication reviewed on",
        help_text="Severity, history, response and the patient's preference.",
        widget=DateInput(),
        validators=[not_in_future],
        required=False,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for instrument in (measures.Instrument.PHQ9, measures.Instrument.GAD7):
            required = instrument == measures.Instrument.PHQ9
            for number, wording in enumerate(measures.ITEMS[instrument], start=1):
                self.fields[_item_name(instrument, number)] = _answer_field(
                    wording, measures.ANSWERS, required=required
                )
            self.fields[f"{instrument}_difficulty"] = _answer_field(
                measures.DIFFICULTY_QUESTION, measures.DIFFICULTY_ANSWERS, required=False
            )
        self.fields["taken_on"].initial = timezone.localdate()
        # Answers side by side, with the error under the whole row rather than under the last answer.
        self.helper = FormHelper()
        self.helper.field_template = "course/initial/_inline_field.html"

    @staticmethod
    def initial_for(patient: Patient, phq9, gad7) -> dict:
        """Initial values from the patient record and the intake questionnaires, if any."""
        initial: dict = {
            "conditions": list(patient.conditions),
            "conditions_other": patient.conditions_other,
            "medication": patient.medication,
            "medication_reviewed_on": patient.medication_reviewed_on,
        }
        for measure in (phq9, gad7):
            if measure is None:
                continue
            initial["taken_on"] = measure.taken_on
            initial[f"{measure.instrument}_difficulty"] = measure.difficulty
            for number, value in enumerate(measure.items, start=1):
                initial[_item_name(measure.instrument, number)] = value
        return initial

    def item_fields(self, instrument: str) -> list[forms.BoundField]:
        return [self[_item_name(instrument, n)] for n in range(1, len(measures.ITEMS[instrument]) + 1)]

    def phq9_fields(self) -> list[forms.BoundField]:
        return self.item_fields(measures.Instrument.PHQ9)

    def gad7_fields(self) -> list[forms.BoundField]:
        return self.item_fields(measures.Instrument.GAD7)

    def clean(self) -> dict:
        cleaned = super().clean()
        gad7 = measures.Instrument.GAD7
        names = [_item_name(gad7, n) for n in range(1, len(measures.ITEMS[gad7]) + 1)]
        answered = [name for name in names if cleaned.get(name) is not None]
        # An item with its own error (say, an answer of 7) is neither answered nor missing.
        missing = [name for name in names if cleaned.get(name) is None and name not in self.errors]
        if answered and missing:
            for name in missing:
                self.add_error(name, "Answer every GAD-7 item, or leave them all blank.")
        if (
            not answered
            and cleaned.get(f"{gad7}_difficulty") is not None
            and not any(name in self.errors for name in names)
        ):
            self.add_error(f"{gad7}_difficulty", "Answer the GAD-7 items too, or leave this blank.")
        conditions = cleaned.get("conditions") or []
        if Patient.Condition.OTHER in conditions and not cleaned.get("conditions_other", "").strip():
            self.add_error("conditions_other", "Name the other condition.")
        if cleaned.get("conditions_other", "").strip() and Patient.Condition.OTHER not in conditions:
            # Naming another condition means it applies: tick "Other" rather than lose the text.
            cleaned["conditions"] = [*conditions, Patient.Condition.OTHER.value]
        return cleaned

    def items(self, instrument: str) -> list[int] | None:
        """The answers of one questionnaire, or None when it was left blank."""
        values = [
            self.cleaned_data.get(_item_name(instrument, n))
            for n in range(1, len(measures.ITEMS[instrument]) + 1)
        ]
        return None if any(v is None for v in values) else values

    def difficulty(self, instrument: str) -> int | None:
        return self.cleaned_data.get(f"{instrument}_difficulty")


# --- Step 2: psychoeducation and the sick role ----------------------------------------------------


class PsychoeducationForm(forms.Form):
    psychoeducation_on = forms.DateField(
        label="Psychoeducation and the sick role discussed on",
        help_text="Depression as a common, treatable illness that is not the patient's fault; the sick "
        "role, with the duty to work towards recovery.",
        widget=DateInput(),
        validators=[not_in_future],
    )


# --- Step 3: the interpersonal inventory ----------------------------------------------------------

RING_CHOICES = ((1, "1 — closest"), (2, "2"), (3, "3 — furthest"))


class RelationshipEntryForm(forms.ModelForm):
    """One person of the inventory (ipt-domain.md §3.1)."""

    closeness_ring = forms.TypedChoiceField(
        label="Closeness ring",
        choices=RING_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        initial=2,
    )
    knows_patient_low = forms.NullBooleanField(
        label="Knows the patient feels low",
        widget=forms.Select(choices=(("unknown", "Not known"), ("true", "Yes"), ("false", "No"))),
        required=False,
    )

    class Meta:
        model = RelationshipEntry
        fields = [
            "name",
            "relationship",
            "closeness_ring",
            "contact",
            "activities",
            "positives",
            "negatives",
            "conflicts",
            "knows_patient_low",
            "expectations_met",
            "desired_change",
            "is_deceased",
        ]
        labels = {"is_deceased": "Has died"}
        widgets = {
            name: forms.Textarea(attrs={"rows": 2})
            for name in ("activities", "positives", "negatives", "conflicts", "desired_change")
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.field_template = "course/initial/_inline_field.html"


# --- Step 4: problem areas ------------------------------------------------------------------------


class FocusForm(forms.Form):
    """One problem area with the fields its area asks for (ipt-domain.md §2)."""

    area = forms.ChoiceField(label="Problem area", choices=ipt.ProblemArea.choices)
    rationale = forms.CharField(
        label="Why this area",
        help_text="The link between the episode and this area.",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    dispute_stage = forms.ChoiceField(
        label="Stage of the dispute",
        choices=[("", "— choose —"), *ipt.DisputeStage.choices],
        required=False,
    )
    person = forms.ModelChoiceField(
        label="Person involved",
        help_text="From the inventory: the other party in a dispute, or the person who died.",
        queryset=RelationshipEntry.objects.none(),
        required=False,
        empty_label="— none —",
    )
    old_role = forms.CharField(label="Old role", max_length=200, required=False)
    new_role = forms.CharField(label="New role", max_length=200, required=False)
    change_date = forms.DateField(label="Date of the change", widget=DateInput(), required=False)
    date_of_death = forms.DateField(
        label="Date of death", widget=DateInput(), validators=[not_in_future], required=False
    )

    # Required per area; every other area-specific field is cleared on save.
    REQUIRED_BY_AREA: dict[str, tuple[str, ...]] = {
        ipt.ProblemArea.ROLE_DISPUTE: ("dispute_stage",),
        ipt.ProblemArea.ROLE_TRANSITION: ("old_role", "new_role", "change_date"),
        ipt.ProblemArea.GRIEF: ("person", "date_of_death"),
        ipt.ProblemArea.INTERPERSONAL_DEFICITS: (),
    }
    USED_BY_AREA: dict[str, tuple[str, ...]] = {
        ipt.ProblemArea.ROLE_DISPUTE: ("dispute_stage", "person"),
        ipt.ProblemArea.ROLE_TRANSITION: ("old_role", "new_role", "change_date"),
        ipt.ProblemArea.GRIEF: ("person", "date_of_death"),
        ipt.ProblemArea.INTERPERSONAL_DEFICITS: (),
    }
    SPECIFIC = ("dispute_stage", "person", "old_role", "new_role", "change_date", "date_of_death")

    def __init__(self, *args, people: QuerySet[RelationshipEntry], required: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people
        self.is_required = required
        if not required:
            self.fields["area"].required = False
            self.fields["area"].choices = [("", "— none —"), *ipt.ProblemArea.choices]
            self.fields["area"].label = "Second problem area (optional)"
        else:
            self.fields["area"].label = "Primary problem area"

    @staticmethod
    def initial_for(focus: ProblemAreaFocus | None) -> dict:
        if focus is None:
            return {}
        return {
            "area": focus.area,
            "rationale": focus.rationale,
            "dispute_stage": focus.dispute_stage,
            "person": focus.person_id,
            "old_role": focus.old_role,
            "new_role": focus.new_role,
            "change_date": focus.change_date,
            "date_of_death": focus.date_of_death,
        }

    def clean(self) -> dict:
        cleaned = super().clean()
        area = cleaned.get("area")
        if not area:
            return cleaned
        for name in self.REQUIRED_BY_AREA[area]:
            if not cleaned.get(name) and name not in self.errors:
                self.add_error(name, f"Required for {ipt.ProblemArea(area).label.lower()}.")
        return cleaned

    def to_input(self) -> FocusInput | None:
        """The chosen area with only its own fields, or None when no area was chosen."""
        area = self.cleaned_data.get("area")
        if not area:
            return None
        used = self.USED_BY_AREA[area]
        values = {name: self.cleaned_data.get(name) for name in self.SPECIFIC if name in used}
        for text_field in ("dispute_stage", "old_role", "new_role"):
            values[text_field] = values.get(text_field) or ""
        return FocusInput(area=area, rationale=self.cleaned_data.get("rationale", ""), **values)


class ProblemAreasForm:
    """The primary area and an optional second one: two FocusForms checked together."""

    def __init__(
        self,
        data=None,
        *,
        people: QuerySet[RelationshipEntry],
        primary: ProblemAreaFocus | None = None,
        second: ProblemAreaFocus | None = None,
    ) -> None:
        self.primary = FocusForm(
            data, prefix="primary", people=people, required=True, initial=FocusForm.initial_for(primary)
        )
        self.second = FocusForm(
            data, prefix="second", people=people, required=False, initial=FocusForm.initial_for(second)
        )

    def is_valid(self) -> bool:
        valid = self.primary.is_valid() & self.second.is_valid()
        if valid and self.second.cleaned_data.get("area") == self.primary.cleaned_data.get("area"):
            self.second.add_error("area", "The second problem area must differ from the primary one.")
            valid = False
        return valid

    def areas(self) -> list[str]:
        """The areas as chosen so far (bound or initial), for the warnings."""
        areas = []
        for form in (self.primary, self.second):
            value = form["area"].value()
            if value in ipt.ProblemArea.values:
                areas.append(value)
        return areas


# --- Step 5: formulation --------------------------------------------------------------------------


class FormulationForm(forms.Form):
    formulation = forms.CharField(
        label="Formulation",
        help_text="Links the depression to the problem area(s), in words the patient recognises.",
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    formulation_shared_on = forms.DateField(
        label="Shared with the patient on", widget=DateInput(), validators=[not_in_future], required=False
    )
    formulation_agreed = forms.BooleanField(label="The patient agreed the formulation", required=False)

    @staticmethod
    def initial_for(course: Course) -> dict:
        return {
            "formulation": course.formulation,
            "formulation_shared_on": course.formulation_shared_on,
            "formulation_agreed": course.formulation_agreed,
        }

    def clean(self) -> dict:
        cleaned = super().clean()
        if (
            cleaned.get("formulation_agreed")
            and not cleaned.get("formulation_shared_on")
            and "formulation_shared_on" not in self.errors
        ):
            self.add_error(
                "formulation_shared_on", "Record when the formulation was shared with the patient."
            )
        return cleaned


# --- Step 6: treatment contract and goals ---------------------------------------------------------


class ContractForm(forms.Form):
    planned_sessions = planned_sessions_field(label="Planned sessions")
    frequency = forms.ChoiceField(label="Frequency", choices=Course.Frequency.choices)
    contract_date = forms.DateField(
        label="Contract agreed on", widget=DateInput(), validators=[not_in_future]
    )

    def __init__(self, *args, course: Course, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.course = course
        if course.middle_phase_started_on is not None:
            # After the initial phase, changing the number is a contract revision with a reason.
            self.fields["planned_sessions"].disabled = True
            self.fields[
                "planned_sessions"
            ].help_text = "To change it now, revise the contract (with a reason)."

    @staticmethod
    def initial_for(course: Course) -> dict:
        return {
            "planned_sessions": course.planned_sessions,
            "frequency": course.frequency,
            "contract_date": course.contract_date or timezone.localdate(),
        }


class GoalForm(forms.ModelForm):
    class Meta:
        model = Goal
        fields = ["focus", "text", "visible_to_patient"]
        labels = {"focus": "Problem area", "text": "Goal, in the patient's words"}
        widgets = {"text": forms.TextInput()}

    def __init__(self, *args, foci: QuerySet[ProblemAreaFocus], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["focus"].queryset = foci
        self.fields["focus"].empty_label = None
        self.fields["focus"].label_from_instance = lambda focus: focus.get_area_display()

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("DELETE") and self.instance.pk and getattr(self.instance, "review_count", 0):
            raise ValidationError(
                "This goal has been reviewed, so it cannot be deleted; it stays in the record.",
                code="reviewed",
            )
        return cleaned


class BaseGoalFormSet(BaseModelFormSet):
    """Goals of the contract: at least one for every chosen problem area."""

    def __init__(self, *args, foci: QuerySet[ProblemAreaFocus], **kwargs) -> None:
        self.foci = list(foci)
        super().__init__(*args, form_kwargs={"foci": foci}, **kwargs)

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        if any(form.instance.pk is None for form in self.initial_forms):
            # The posted id is not a goal of this course (stale page, or tampering): Django
            # would quietly make it a new goal instead.
            raise ValidationError("A goal on this page is no longer part of the course: reload the page.")
        if not self.foci:
            raise ValidationError("Choose the problem areas first (step 4): goals belong to an area.")
        goal_areas = []
        for form in self.forms:
            if not form.has_changed() and form.instance.pk is None:
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            focus = form.cleaned_data.get("focus")
            if focus is not None and form.instance.status != Goal.Status.DROPPED:
                goal_areas.append(focus.area)
        coverage = ipt.goal_coverage([focus.area for focus in self.foci], goal_areas)
        if coverage.missing:
            names = ", ".join(ipt.ProblemArea(area).label.lower() for area in coverage.missing)
            raise ValidationError(f"Each problem area needs at least one goal: add one for {names}.")


def goal_formset_class(*, extra: int) -> type[BaseGoalFormSet]:
    return modelformset_factory(Goal, form=GoalForm, formset=BaseGoalFormSet, extra=extra, can_delete=True)
