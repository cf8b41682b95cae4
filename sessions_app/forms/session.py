"""The session log form: one page made of a few small forms.

* `SessionForm`: the session's own fields (a ModelForm of TherapySession);
* `MeasureForm`: a PHQ-9 or GAD-7 entered item by item (never a total);
* `GoalReviewForm`: progress on one active goal;
* `TerminationForm`: the course's termination fields (a ModelForm of Course).

`SessionLogForm` binds them together, validates them as one, and turns the
result into a `services.sessions.SessionInput`. None of these forms saves
anything: the session service writes, under its locks.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from sessions_app import ipt, measures
from sessions_app.models import (
    Course,
    Goal,
    GoalReview,
    ProblemAreaFocus,
    RelationshipEntry,
    SessionAddendum,
    TherapySession,
)
from sessions_app.services.sessions import (
    TERMINATION_FIELDS,
    GoalReviewEntry,
    MeasureAnswers,
    SessionInput,
    session_date_error,
)

Attendance = TherapySession.Attendance

# Fields a cancelled or no-show record keeps; everything else on the page is ignored for them.
BRIEF_FIELDS = ("date", "duration_minutes", "modality", "attendance", "events_since_last")

MIN_DURATION = 5
MAX_DURATION = 240


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class SessionForm(forms.ModelForm):
    """The session's own fields. Cancelled and no-show records use only BRIEF_FIELDS."""

    duration_minutes = forms.IntegerField(
        label="Duration (minutes)", min_value=MIN_DURATION, max_value=MAX_DURATION, initial=50
    )
    strategies = forms.MultipleChoiceField(
        label="IPT strategies used", required=False, widget=forms.CheckboxSelectMultiple
    )
    techniques = forms.MultipleChoiceField(
        label="IPT techniques used",
        required=False,
        choices=ipt.Technique.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    # Optimistic locking: the version the therapist opened (edit form only).
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    # Idempotency: generated when the new-session form is opened.
    submission_key = forms.UUIDField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = TherapySession
        fields = [
            "date",
            "duration_minutes",
            "modality",
            "attendance",
            "events_since_last",
            "people_discussed",
            "phase",
            "phase_override_reason",
            "foci",
            "strategies",
            "dispute_stage",
            "techniques",
            "task_type",
            "task_text",
            "last_task_outcome",
            "joint_attendees",
            "risk_ideation",
            "risk_plan",
            "risk_intent",
            "safety_plan",
            "risk_action_taken",
            "private_note",
        ]
        labels = {
            "events_since_last": "Interpersonal events and mood since we last met",
            "people_discussed": "People discussed",
            "phase_override_reason": "Reason for changing the phase",
            "foci": "Problem areas worked on",
            "dispute_stage": "Stage of the role dispute",
            "task_type": "New between-session task",
            "last_task_outcome": "Outcome of the last task",
            "joint_attendees": "Who attended with the patient (joint session)",
            "risk_ideation": "Suicidal ideation",
            "risk_plan": "Has a plan",
            "risk_intent": "Has intent",
            "risk_action_taken": "Action taken",
        }
        help_texts = {
            "events_since_last": "For a cancelled or missed session: an optional short note.",
            "phase_override_reason": "Needed only when the phase differs from the default.",
            "joint_attendees": "Leave empty unless a partner or family member joined the session.",
        }
        widgets = {
            "date": DateInput(),
            "attendance": forms.RadioSelect,
            "modality": forms.RadioSelect,
            "events_since_last": forms.Textarea(attrs={"rows": 3}),
            "people_discussed": forms.CheckboxSelectMultiple,
            "phase_override_reason": forms.Textarea(attrs={"rows": 2}),
            "foci": forms.CheckboxSelectMultiple,
            "task_text": forms.Textarea(attrs={"rows": 2}),
            "joint_attendees": forms.CheckboxSelectMultiple,
            "risk_ideation": forms.RadioSelect,
            "safety_plan": forms.Textarea(attrs={"rows": 2}),
            "risk_action_taken": forms.Textarea(attrs={"rows": 2}),
            "private_note": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(
        self,
        *args: Any,
        course: Course,
        foci: QuerySet[ProblemAreaFocus],
        relationships: QuerySet[RelationshipEntry],
        default_phase: str,
        editing: bool,
        **kwargs: Any,
    ) -> None:
        """`foci` and `relationships` are the course's, already scoped through access.py."""
        super().__init__(*args, **kwargs)
        self.course = course
        self.default_phase = default_phase
        self.editing = editing
        fields = self.fields

        # Radios instead of a "---------" entry for the required choices.
        for name in ("attendance", "modality"):
            fields[name].choices = [c for c in fields[name].choices if c[0] != ""]
        # The phase is checked in clean(): an unnumbered session takes the course's phase.
        fields["phase"].required = False
        fields["phase"].help_text = f"Default from the IPT rule: {ipt.Phase(default_phase).label}."
        fields["risk_ideation"].choices = [("", "Not recorded"), *TherapySession.Ideation.choices]

        # Posted ids are checked against the scoped querysets; the choices are
        # built once from one evaluation of each, not one query per widget.
        fields["foci"].queryset = foci
        people = list(relationships)
        foci = list(foci)
        fields["foci"].choices = [(f.pk, str(f)) for f in foci]
        fields["people_discussed"].queryset = relationships
        fields["people_discussed"].choices = [(p.pk, str(p)) for p in people]
        fields["joint_attendees"].queryset = relationships.filter(is_deceased=False)
        fields["joint_attendees"].choices = [(p.pk, str(p)) for p in people if not p.is_deceased]

        # The strategies of the course's problem areas (ipt.py); codes stored on an
        # older draft stay offered, so editing never drops them silently.
        choices = ipt.strategy_choices([f.area for f in foci])
        offered = {code for code, _ in choices}
        stored = self.instance.strategies if self.instance.pk else []
        choices += [(code, ipt.strategy_label(code)) for code in stored if code not in offered]
        fields["strategies"].choices = choices
        dispute = next((f for f in foci if f.area == ipt.ProblemArea.ROLE_DISPUTE), None)
        if dispute is None:
            del fields["dispute_stage"]
        elif self.instance.pk is None:
            # A new session starts from the stage recorded for the dispute so far.
            self.initial["dispute_stage"] = dispute.dispute_stage

        if editing:
            fields["version"].required = True
            fields["version"].error_messages["required"] = (
                "This form is missing its version: reload the page before saving."
            )
        else:
            del fields["version"]

    @property
    def attended(self) -> bool:
        """Whether the form is for an attended session (what was posted, else the initial value)."""
        value = self["attendance"].value()
        return value in ("", None, Attendance.ATTENDED)

    def clean_date(self) -> Any:
        on = self.cleaned_data["date"]
        error = session_date_error(self.course, on, today=timezone.localdate())
        if error:
            raise forms.ValidationError(error)
        return on

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("attendance") not in (None, Attendance.ATTENDED):
            # A brief record: whatever the rest of the page holds is ignored,
            # including anything malformed in it.
            for name in list(self._errors or {}):
                if name not in BRIEF_FIELDS and name not in ("version", "submission_key"):
                    del self._errors[name]
            return cleaned

        phase = cleaned.get("phase")
        reason = (cleaned.get("phase_override_reason") or "").strip()
        if not phase and "phase" not in self._errors:
            self.add_error("phase", "Choose the phase of this session.")
        elif phase and phase != self.default_phase and not reason:
            self.add_error(
                "phase_override_reason",
                f"The default phase is {ipt.Phase(self.default_phase).label.lower()}: "
                "say why this session is in another phase.",
            )

        task_text = (cleaned.get("task_text") or "").strip()
        if task_text and not cleaned.get("task_type"):
            self.add_error("task_type", "Choose the type of the task you described.")
        if cleaned.get("task_type") == TherapySession.TaskType.OTHER and not task_text:
            self.add_error("task_text", "Describe the task.")

        risk_details = (
            cleaned.get("risk_plan") is not None
            or cleaned.get("risk_intent") is not None
            or (cleaned.get("safety_plan") or "").strip()
            or (cleaned.get("risk_action_taken") or "").strip()
        )
        if risk_details and not cleaned.get("risk_ideation") and "risk_ideation" not in self._errors:
            self.add_error("risk_ideation", "Record the ideation to complete the risk check.")
        return cleaned


class MeasureForm(forms.Form):
    """A PHQ-9 or GAD-7 answered item by item with the exact wording (measures.py).

    Recorded when "taken" is ticked or any item is answered; then every item
    must be answered. The total is computed on save, never typed.
    """

    def __init__(self, *args: Any, instrument: str, default_taken: bool, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", instrument)
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        self.label = measures.Instrument(instrument).label
        self.fields["taken"] = forms.BooleanField(
            label=f"Record the {self.label} this session", required=False, initial=default_taken
        )
        for number, text in enumerate(measures.ITEMS[instrument], start=1):
            self.fields[f"item_{number}"] = forms.TypedChoiceField(
                label=f"{number}. {text}",
                choices=measures.ANSWERS,
                coerce=int,
                empty_value=None,
                required=False,
                widget=forms.RadioSelect,
            )
        self.fields["difficulty"] = forms.TypedChoiceField(
            label=measures.DIFFICULTY_QUESTION,
            choices=[("", "Not asked"), *measures.DIFFICULTY_ANSWERS],
            coerce=int,
            empty_value=None,
            required=False,
            widget=forms.RadioSelect,
        )

    @property
    def item_names(self) -> list[str]:
        return [f"item_{n}" for n in range(1, len(measures.ITEMS[self.instrument]) + 1)]

    def item_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.item_names]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        answered = any(cleaned.get(name) is not None or name in self._errors for name in self.item_names)
        if not (cleaned.get("taken") or answered):
            return cleaned
        for number, name in enumerate(self.item_names, start=1):
            if cleaned.get(name) is None and name not in self._errors:
                self.add_error(name, f"Answer item {number}, or untick “Record the {self.label}”.")
        return cleaned

    def answers(self) -> MeasureAnswers | None:
        """The validated answers, or None when the questionnaire was not taken."""
        cleaned = self.cleaned_data
        items = [cleaned.get(name) for name in self.item_names]
        if not cleaned.get("taken") and all(v is None for v in items):
            return None
        return MeasureAnswers(items=items, difficulty=cleaned.get("difficulty"))


class GoalReviewForm(forms.Form):
    """Progress on one goal in this session (optional)."""

    progress = forms.ChoiceField(
        required=False,
        choices=[("", "Not reviewed"), *GoalReview.Progress.choices],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, goal: Goal, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"goal-{goal.public_id}")
        super().__init__(*args, **kwargs)
        self.goal = goal
        self.fields["progress"].label = f"Progress: {goal.text}"
        self.fields["note"].label = f"Note on “{goal.text}”"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if (
            (cleaned.get("note") or "").strip()
            and not cleaned.get("progress")
            and "progress" not in self._errors
        ):
            self.add_error("progress", "Choose the progress to go with the note.")
        return cleaned


class TerminationForm(forms.ModelForm):
    """The course's termination-phase record, written with the session."""

    class Meta:
        model = Course
        fields = list(TERMINATION_FIELDS)
        labels = {
            "ending_discussed_on": "Ending discussed on",
            "gains": "Gains, credited to the patient",
            "relapse_warning_signs": "Relapse warning signs (the patient will see this)",
            "coping_plan": "Coping plan (the patient will see this)",
        }
        widgets = {
            "ending_discussed_on": DateInput(),
            "feelings_about_ending": forms.Textarea(attrs={"rows": 2}),
            "gains": forms.Textarea(attrs={"rows": 2}),
            "relapse_warning_signs": forms.Textarea(attrs={"rows": 2}),
            "coping_plan": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "termination")
        super().__init__(*args, **kwargs)

    def clean_ending_discussed_on(self) -> Any:
        on = self.cleaned_data["ending_discussed_on"]
        if on is not None:
            error = session_date_error(self.instance, on, today=timezone.localdate())
            if error:
                raise forms.ValidationError(error.replace("a session", "this"))
        return on


class SessionLogForm:
    """The whole session page as one form: validate together, hand the service one input."""

    def __init__(
        self,
        data: Any = None,
        *,
        course: Course,
        session: TherapySession | None,
        foci: QuerySet[ProblemAreaFocus],
        relationships: QuerySet[RelationshipEntry],
        goals: Iterable[Goal],
        default_phase: str,
        existing_measures: Iterable[Any] = (),
        existing_reviews: Iterable[GoalReview] = (),
        initial: dict[str, Any] | None = None,
    ) -> None:
        self.course = course
        self.session = session
        editing = session is not None
        self.main = SessionForm(
            data,
            # Copies: validation writes typed values onto the instance, and the
            # view's objects must keep showing what is stored.
            instance=copy.copy(session) if editing else TherapySession(course=course),
            initial=initial,
            course=course,
            foci=foci,
            relationships=relationships,
            default_phase=default_phase,
            editing=editing,
        )
        stored = {m.instrument: m for m in existing_measures}
        self.measures = []
        for instrument in (measures.Instrument.PHQ9, measures.Instrument.GAD7):
            response = stored.get(instrument)
            measure_initial = {}
            if response is not None:
                measure_initial = {f"item_{n}": v for n, v in enumerate(response.items, start=1)}
                measure_initial |= {"taken": True, "difficulty": response.difficulty}
            # PHQ-9 every session by default (ipt-domain.md §5.5); GAD-7 when wanted.
            default_taken = instrument == measures.Instrument.PHQ9 and not editing
            self.measures.append(
                MeasureForm(
                    data, instrument=instrument, default_taken=default_taken, initial=measure_initial or None
                )
            )
        self.phq9, self.gad7 = self.measures
        reviews = {r.goal_id: r for r in existing_reviews}
        self.goal_reviews = [
            GoalReviewForm(
                data,
                goal=goal,
                initial=(
                    {"progress": reviews[goal.pk].progress, "note": reviews[goal.pk].note}
                    if goal.pk in reviews
                    else None
                ),
            )
            for goal in goals
        ]
        self.termination = TerminationForm(data, instance=copy.copy(course))

    @property
    def clinical_forms(self) -> list[forms.BaseForm]:
        return [*self.measures, *self.goal_reviews, self.termination]

    @property
    def attended(self) -> bool:
        return self.main.attended

    def is_valid(self) -> bool:
        """Validate every part; the clinical parts count only for an attended session."""
        main_valid = self.main.is_valid()
        if not self.attended:
            return main_valid
        # Validate all of them (no short-circuit) so every error shows at once.
        return all([main_valid, *[form.is_valid() for form in self.clinical_forms]])

    @property
    def submission_key(self) -> Any:
        return self.main.cleaned_data.get("submission_key")

    @property
    def version(self) -> int | None:
        return self.main.cleaned_data.get("version")

    def to_input(self) -> SessionInput:
        """The validated form as the service's input (call after is_valid())."""
        cleaned = self.main.cleaned_data
        brief = {name: cleaned[name] for name in BRIEF_FIELDS}
        if not self.attended:
            return SessionInput(**brief)
        termination = self.termination.cleaned_data
        return SessionInput(
            **brief,
            phase=cleaned["phase"],
            phase_override_reason=cleaned.get("phase_override_reason", ""),
            foci=list(cleaned.get("foci", [])),
            strategies=cleaned.get("strategies", []),
            techniques=cleaned.get("techniques", []),
            dispute_stage=cleaned.get("dispute_stage", ""),
            people_discussed=list(cleaned.get("people_discussed", [])),
            joint_attendees=list(cleaned.get("joint_attendees", [])),
            task_type=cleaned.get("task_type", ""),
            task_text=cleaned.get("task_text", ""),
            last_task_outcome=cleaned.get("last_task_outcome", ""),
            risk_ideation=cleaned.get("risk_ideation", ""),
            risk_plan=cleaned.get("risk_plan"),
            risk_intent=cleaned.get("risk_intent"),
            safety_plan=cleaned.get("safety_plan", ""),
            risk_action_taken=cleaned.get("risk_action_taken", ""),
            private_note=cleaned.get("private_note", ""),
            phq9=self.phq9.answers(),
            gad7=self.gad7.answers(),
            goal_reviews=[
                GoalReviewEntry(
                    goal=form.goal, progress=form.cleaned_data["progress"], note=form.cleaned_data["note"]
                )
                for form in self.goal_reviews
            ],
            # Only what the therapist changed, so a session form never overwrites
            # the course's termination record with stale copies.
            course_changes={name: termination[name] for name in self.termination.changed_data},
        )

    def add_service_error(self, error: ValidationError) -> None:
        """Show a ValidationError raised by the service at the field it names (else at the top)."""
        if not hasattr(error, "error_dict"):
            self.main.add_error(None, error)
            return
        for name, errors in error.error_dict.items():
            if name in self.main.fields:
                self.main.add_error(name, errors)
            elif name in self.termination.fields:
                self.termination.add_error(name, errors)
            else:
                self.main.add_error(None, errors)


class AddendumForm(forms.ModelForm):
    """A correction or addition to a signed session."""

    class Meta:
        model = SessionAddendum
        fields = ["text"]
        labels = {"text": "Addendum"}
        help_texts = {
            "text": "The signed note stays as it is; this is added under it with your name and the time."
        }
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}

    def clean_text(self) -> str:
        text = self.cleaned_data["text"].strip()
        if not text:
            raise forms.ValidationError("Write the addendum.")
        return text
