"""Forms for the course-level actions: complete, discontinue, revise the contract, move on.

They validate input only; `sessions_app.services.courses` does the writing.
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from sessions_app import ipt
from sessions_app.models import Course


class DateInput(forms.DateInput):
    """A native date picker; the value travels as ISO 8601, whatever the locale."""

    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def not_in_future(value: date) -> None:
    """Dates in these forms record something that has happened."""
    if value > timezone.localdate():
        raise ValidationError("This date is in the future.", code="future")


def planned_sessions_field(**kwargs) -> forms.TypedChoiceField:
    """Planned sessions as a choice of 12–16: individual IPT's range (ipt-domain.md §1)."""
    return forms.TypedChoiceField(
        choices=[(n, f"{n} sessions") for n in range(ipt.MIN_PLANNED_SESSIONS, ipt.MAX_PLANNED_SESSIONS + 1)],
        coerce=int,
        **kwargs,
    )


class _EndDateMixin(forms.Form):
    end_date = forms.DateField(widget=DateInput(), validators=[not_in_future])

    def __init__(self, *args, course: Course, **kwargs) -> None:
        self.course = course
        super().__init__(*args, **kwargs)
        self.fields["end_date"].initial = timezone.localdate()

    def clean_end_date(self) -> date:
        end_date = self.cleaned_data["end_date"]
        if end_date < self.course.start_date:
            raise ValidationError(
                f"The course started on {self.course.start_date:%d %b %Y}; it cannot end before that.",
                code="before_start",
            )
        return end_date


class CourseCompleteForm(_EndDateMixin):
    continuation_decision = forms.ChoiceField(
        label="After the course",
        choices=[("", "— choose —"), *Course.Continuation.choices],
        help_text="Discuss continuation or maintenance with every patient; offer another "
        "treatment if there was no response.",
    )
    end_reason = forms.CharField(
        label="Reason for completing before the last planned session",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )

    def __init__(self, *args, course: Course, sessions_done: int, **kwargs) -> None:
        super().__init__(*args, course=course, **kwargs)
        self.early = sessions_done < course.planned_sessions
        if self.early:
            self.fields["end_reason"].required = True
            self.fields[
                "end_reason"
            ].help_text = f"{sessions_done} of {course.planned_sessions} planned sessions held."
        else:
            self.fields["end_reason"].label = "Note on the ending (optional)"
        if course.continuation_decision:
            self.fields["continuation_decision"].initial = course.continuation_decision


class CourseDiscontinueForm(_EndDateMixin):
    end_reason = forms.CharField(
        label="Reason for discontinuing",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ContractRevisionForm(forms.Form):
    planned_sessions = planned_sessions_field(label="New number of planned sessions")
    reason = forms.CharField(label="Reason for the revision", widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, course: Course, sessions_done: int, **kwargs) -> None:
        self.course = course
        self.sessions_done = sessions_done
        super().__init__(*args, **kwargs)
        self.fields["planned_sessions"].initial = min(course.planned_sessions + 1, ipt.MAX_PLANNED_SESSIONS)

    def clean_planned_sessions(self) -> int:
        planned = self.cleaned_data["planned_sessions"]
        if planned == self.course.planned_sessions:
            raise ValidationError("The course already plans this many sessions.", code="unchanged")
        if planned < self.sessions_done:
            raise ValidationError(
                f"{self.sessions_done} sessions have already been held: plan at least that many.",
                code="below_held",
            )
        return planned


class MiddlePhaseForm(forms.Form):
    reason = forms.CharField(
        label="Reason for moving on before the initial tasks are done",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, tasks_done: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if tasks_done:
            self.fields["reason"].required = False
            self.fields["reason"].label = "Note (optional)"
