"""The clinic caseload's filters: period, therapist, problem area, phase (and, for the lists, which
figure and page). Values that cannot be used fall back to their default, and the page says why."""

from __future__ import annotations

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.text import Truncator

from sessions_app import caseload, ipt
from sessions_app.forms.course import DateInput
from sessions_app.models import User

DATE_HELP = "Year-month-day, for example 2026-03-31."
BAD_DATE_HINT = "write it as year-month-day, for example 2026-03-31"
BAD_DATE = f"Not a date: {BAD_DATE_HINT}."


def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


class CaseloadFilterForm(forms.Form):
    """Filters of the caseload dashboard, its drill-down lists and its export.

    The therapist is chosen by public id among the clinic's therapists (the
    list the view already fetched, so validation costs no query); an id from
    another clinic is as unknown as a made-up one.
    """

    therapist = forms.ChoiceField(label="Therapist", required=False)
    area = forms.ChoiceField(
        label="Problem area", choices=[("", "Any problem area"), *ipt.ProblemArea.choices], required=False
    )
    phase = forms.ChoiceField(label="Phase", choices=[("", "Any phase"), *ipt.Phase.choices], required=False)
    # Not shown as fields: the dashboard's links carry them.
    figure = forms.ChoiceField(choices=[(key, key) for key in caseload.FIGURES], required=False)
    page = forms.IntegerField(min_value=1, required=False)

    FALLBACK = {
        "therapist": "Unknown therapist “{value}”: showing all therapists.",
        "area": "Unknown problem area “{value}”: showing every problem area.",
        "phase": "Unknown phase “{value}”: showing every phase.",
        "figure": "Unknown list “{value}”: showing the whole caseload.",
        "page": "“{value}” is not a page number: showing page 1.",
    }

    def __init__(self, data: QueryDict, *, therapists: list[User], today: date) -> None:
        self.today = today
        self.default_from, self.default_to = caseload.default_period(today)
        # The period in force shows in the date boxes even before anything is typed.
        data = data.copy()
        data.setdefault("from", self.default_from.isoformat())
        data.setdefault("to", self.default_to.isoformat())
        super().__init__(data)
        self.therapists = {str(t.public_id): t for t in therapists}
        # "from" and "to" read well in a link but cannot be class attributes.
        self.fields["from"] = forms.DateField(
            label="Completed from",
            required=False,
            widget=DateInput(),
            help_text=DATE_HELP,
            error_messages={"invalid": BAD_DATE},
        )
        self.fields["to"] = forms.DateField(
            label="Completed to",
            required=False,
            widget=DateInput(),
            help_text=DATE_HELP,
            error_messages={"invalid": BAD_DATE},
        )
        self.order_fields(["from", "to", "therapist", "area", "phase"])
        self.fields["therapist"].choices = [
            ("", "All therapists"),
            *(
                (key, t.display_name + ("" if t.is_active else " (inactive)"))
                for key, t in self.therapists.items()
            ),
        ]

    def _typed(self, name: str) -> str:
        return Truncator(str(self.data.get(name, ""))).chars(40)

    def _period(self, notices: list[str]) -> tuple[date, date]:
        """The period typed; a date that is not one falls back to its default, and a period
        that ends before it starts to the last 12 months."""
        start = self.cleaned_data.get("from") or self.default_from
        end = self.cleaned_data.get("to") or self.default_to
        for name, which, fallback in (("from", "starts", start), ("to", "ends", end)):
            if name in self.errors:
                notices.append(
                    f"“{self._typed(name)}” is not a date ({BAD_DATE_HINT}): "
                    f"the period {which} on {_day(fallback)} instead."
                )
        if start > end:
            if "to" not in self.errors:
                self.add_error("to", ValidationError("The period ends before it starts.", code="reversed"))
            start, end = self.default_from, self.default_to
            notices.append(
                f"The period ended before it started: showing the last 12 months, "
                f"{_day(start)} to {_day(end)}."
            )
        return start, end

    def filters(self) -> caseload.CaseloadFilters:
        """The filters to apply. Invalid values fall back to their default, each with a notice."""
        self.is_valid()
        cleaned = self.cleaned_data
        notices = [
            self.FALLBACK[name].format(value=self._typed(name))
            for name in self.FALLBACK
            if name in self.errors
        ]
        start, end = self._period(notices)
        return caseload.CaseloadFilters(
            date_from=start,
            date_to=end,
            today=self.today,
            therapist=self.therapists.get(cleaned.get("therapist") or ""),
            area=cleaned.get("area") or "",
            phase=cleaned.get("phase") or "",
            figure=cleaned.get("figure") or "caseload",
            page=cleaned.get("page"),
            notices=tuple(notices),
        )
