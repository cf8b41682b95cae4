"""The session log: one therapy session, its form, signing and addenda.

Every view here follows the same path: rows through access.py (404 outside
the scope), writes only by the patient's treating therapist (403 for anyone
else), a form, the session service, a redirect with a message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.forms.models import model_to_dict
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sessions_app import access, audit, ipt, measures
from sessions_app.decorators import staff_required
from sessions_app.forms.session import AddendumForm, SessionLogForm
from sessions_app.models import (
    AuditEvent,
    Course,
    Goal,
    MeasureResponse,
    SignedSessionLocked,
    TherapySession,
    User,
)
from sessions_app.services import sessions as services

Attendance = TherapySession.Attendance

LOCKED_MESSAGE = "This session is signed and locked. To correct or add to it, add an addendum."
CONFLICT_MESSAGE = (
    "This session was changed since you opened it. Nothing you typed is lost, and nothing is "
    "saved yet: compare the saved version with yours below, then save again to keep yours."
)


# --- Session page ----------------------------------------------------------------------------------------


@staff_required
@require_GET
def session_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    session = access.get_or_404(_sessions(request.user), public_id)
    return _render_detail(request, session, AddendumForm())


def _render_detail(
    request: HttpRequest, session: TherapySession, addendum_form: AddendumForm, *, status: int = 200
) -> HttpResponse:
    user = request.user
    course = session.course
    patient = course.patient
    treating = user.is_therapist and patient.therapist_id == user.pk
    context = {
        "session": session,
        "course": course,
        # Private notes and risk checks belong to the treating therapist alone.
        "show_private_note": treating,
        "show_risk_check": treating,
        "can_edit": treating and not session.is_signed and course.status == Course.Status.ACTIVE,
        "can_add_addendum": treating and session.is_signed,
        "addendum_form": addendum_form,
        "measures": access.measures_for(user).filter(session=session),
        "goal_reviews": access.goal_reviews_for(user).filter(session=session).select_related("goal"),
        "addenda": access.addenda_for(user).filter(session=session).select_related("author"),
    }
    audit.record(request, AuditEvent.Action.VIEW, session, patient=patient)
    return render(request, "session/detail.html", context, status=status)


def _sessions(user: User) -> QuerySet[TherapySession]:
    return (
        access.sessions_for(user)
        .select_related("course__therapist")
        .prefetch_related("foci", "people_discussed", "joint_attendees")
    )


# --- New session and edit --------------------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "POST"])
def session_create(request: HttpRequest, public_id: str) -> HttpResponse:
    """Log a new session of a course (the treating therapist only, on an active course)."""
    user = request.user
    course = access.get_or_404(access.courses_for(user), public_id)
    access.require_treating_therapist(user, course.patient)
    if course.status != Course.Status.ACTIVE:
        messages.error(request, f"This course is {course.get_status_display().lower()}: no new sessions.")
        return redirect(course)

    page = _PageData.load(user, course, None)
    if request.method == "POST":
        form = page.form(request.POST)
        if form.is_valid():
            sign = _wants_sign(request)
            try:
                session, created = services.session_create(
                    course=course,
                    data=form.to_input(),
                    by_user=user,
                    submission_key=form.submission_key,
                    sign=sign,
                )
            except ValidationError as exc:
                _show_service_error(request, form, exc)
            else:
                if created:
                    audit.record(request, AuditEvent.Action.CREATE, session, patient=course.patient)
                    if session.is_signed:
                        audit.record(request, AuditEvent.Action.SIGN, session, patient=course.patient)
                    messages.success(request, f"{session} {'signed' if session.is_signed else 'saved'}.")
                else:
                    messages.info(request, f"{session} was already saved from this form.")
                return redirect(session)
        if "submission_key" in form.main.errors:
            # A mangled key would block every retry: hand out a fresh one.
            form = page.form(_with(request.POST, submission_key=uuid.uuid4()))
            form.is_valid()
            form.main.add_error(None, "This form could not be matched to its page: check it and save again.")
    else:
        initial = {"submission_key": uuid.uuid4(), "phase": page.default_phase, "date": timezone.localdate()}
        form = page.form(initial=initial)
    audit.record(request, AuditEvent.Action.VIEW, course, patient=course.patient)
    return _render_form(request, page, form)


@staff_required
@require_http_methods(["GET", "POST"])
def session_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    """Edit a draft session; signed sessions are locked, and stale forms never overwrite."""
    user = request.user
    session = access.get_or_404(_sessions(user), public_id)
    course = session.course
    access.require_treating_therapist(user, course.patient)
    if session.is_signed:
        messages.warning(request, LOCKED_MESSAGE)
        return redirect(session)
    if course.status != Course.Status.ACTIVE:
        messages.error(request, f"This course is {course.get_status_display().lower()}: sessions are closed.")
        return redirect(session)

    page = _PageData.load(user, course, session)
    conflict: list[tuple[str, str, str]] | None = None
    if request.method == "POST":
        form = page.form(request.POST)
        if form.is_valid():
            sign = _wants_sign(request)
            try:
                saved = services.session_update(
                    session=session,
                    data=form.to_input(),
                    by_user=user,
                    expected_version=form.version,
                    sign=sign,
                )
            except SignedSessionLocked:
                messages.warning(request, LOCKED_MESSAGE)
                return redirect(session)
            except services.VersionConflict as exc:
                stored = exc.stored
                stored_measures = list(access.measures_for(user).filter(session=stored))
                conflict = _conflict_rows(form, stored, stored_measures)
                # Bound to the stored version: saving again is a deliberate overwrite.
                form = page.form(_with(request.POST, version=stored.version))
                form.is_valid()
                form.main.add_error(None, CONFLICT_MESSAGE)
            except ValidationError as exc:
                _show_service_error(request, form, exc)
            else:
                audit.record(request, AuditEvent.Action.UPDATE, saved, patient=course.patient)
                if saved.is_signed:
                    audit.record(request, AuditEvent.Action.SIGN, saved, patient=course.patient)
                messages.success(request, f"{saved} {'signed' if saved.is_signed else 'saved'}.")
                return redirect(saved)
    else:
        form = page.form(initial={"version": session.version})
    audit.record(request, AuditEvent.Action.VIEW, session, patient=course.patient)
    return _render_form(request, page, form, conflict=conflict)


@staff_required
@require_POST
def addendum_create(request: HttpRequest, public_id: str) -> HttpResponse:
    """Add an addendum under a signed session's note."""
    user = request.user
    session = access.get_or_404(_sessions(user), public_id)
    patient = session.course.patient
    access.require_treating_therapist(user, patient)
    if not session.is_signed:
        messages.info(request, "This session is a draft: edit it directly instead of adding an addendum.")
        return redirect(session)
    form = AddendumForm(request.POST)
    if form.is_valid():
        addendum = services.addendum_create(session=session, author=user, text=form.cleaned_data["text"])
        audit.record(request, AuditEvent.Action.CREATE, addendum, patient=patient)
        messages.success(request, "Addendum added.")
        return redirect(session)
    return _render_detail(request, session, form)


# --- Helpers ---------------------------------------------------------------------------------------------


@dataclass
class _PageData:
    """The rows the session form needs, each through access.py, in a fixed number of queries."""

    user: User
    course: Course
    session: TherapySession | None
    default_phase: str
    next_number: int | None
    previous: TherapySession | None
    goals: list[Goal]
    existing_measures: list[MeasureResponse]
    existing_reviews: list[Any]
    progress_review: list[dict[str, Any]]

    @classmethod
    def load(cls, user: User, course: Course, session: TherapySession | None) -> _PageData:
        attended = access.sessions_for(user).filter(course=course, attendance=Attendance.ATTENDED)
        if session is not None and session.number is not None:
            previous = attended.filter(number__lt=session.number).order_by("-number").first()
            number = session.number
        else:
            previous = attended.order_by("-number").first()
            number = (previous.number if previous else 0) + 1
        goals = access.goals_for(user).filter(focus__course=course)
        if session is None:
            goals = goals.filter(status=Goal.Status.ACTIVE)
        else:
            # Active goals, and any goal already reviewed in this draft.
            reviewed = access.goal_reviews_for(user).filter(session=session).values("goal_id")
            goals = goals.filter(Q(status=Goal.Status.ACTIVE) | Q(pk__in=reviewed))
        return cls(
            user=user,
            course=course,
            session=session,
            default_phase=course.default_phase_for(number),
            next_number=number if session is None else None,
            previous=previous,
            goals=list(goals.order_by("focus__created_at", "created_at")),
            existing_measures=(
                list(access.measures_for(user).filter(session=session)) if session is not None else []
            ),
            existing_reviews=(
                list(access.goal_reviews_for(user).filter(session=session)) if session is not None else []
            ),
            progress_review=_progress_review(access.measures_for(user).filter(course=course)),
        )

    @property
    def beyond_contract(self) -> bool:
        """Whether the next attended session would go past the agreed contract."""
        return (
            self.next_number is not None
            and self.next_number > self.course.planned_sessions
            and self.course.continuation_decision != Course.Continuation.MAINTENANCE
        )

    def form(self, data: Any = None, *, initial: dict[str, Any] | None = None) -> SessionLogForm:
        return SessionLogForm(
            data,
            course=self.course,
            session=self.session,
            foci=access.foci_for(self.user).filter(course=self.course),
            relationships=access.relationships_for(self.user).filter(course=self.course),
            goals=self.goals,
            default_phase=self.default_phase,
            existing_measures=self.existing_measures,
            existing_reviews=self.existing_reviews,
            initial=initial,
        )


def _render_form(
    request: HttpRequest,
    page: _PageData,
    form: SessionLogForm,
    *,
    conflict: list[tuple[str, str, str]] | None = None,
) -> HttpResponse:
    phase = form.main["phase"].value() or page.default_phase
    item9 = form.phq9[f"item_{measures.ITEM9_INDEX + 1}"].value()
    risk_open = bool(
        form.main["risk_ideation"].errors
        or form.main["risk_ideation"].value()
        or item9 not in (None, "", "0", 0)
    )
    context = {
        "form": form,
        "course": page.course,
        "session": page.session,
        "page": page,
        "conflict": conflict,
        "middle_open": phase in (ipt.Phase.MIDDLE, ipt.Phase.MAINTENANCE),
        "termination_open": phase in (ipt.Phase.TERMINATION, ipt.Phase.MAINTENANCE)
        or bool(form.termination.errors)
        or page.course.ending_discussed_on is not None,
        "gad7_open": bool(
            form.gad7["taken"].value()
            or form.gad7.errors
            or any(item.value() not in (None, "") for item in form.gad7.item_fields())
        ),
        "risk_open": risk_open,
        "stem": measures.STEM,
    }
    return render(request, "session/form.html", context)


def _wants_sign(request: HttpRequest) -> bool:
    # The two submit buttons share the form; only "sign" signs.
    return request.POST.get("action") == "sign"


def _with(data: Any, **values: Any) -> Any:
    copy = data.copy()
    for name, value in values.items():
        copy[name] = str(value)
    return copy


def _show_service_error(request: HttpRequest, form: SessionLogForm, exc: ValidationError) -> None:
    form.add_service_error(exc)
    if isinstance(exc, services.SignBlocked):
        reasons = " ".join(blocker.message for blocker in exc.blockers)
        messages.error(request, f"Not signed, and nothing saved yet: {reasons}")


def _progress_review(responses: QuerySet[MeasureResponse]) -> list[dict[str, Any]]:
    """Baseline against latest for each questionnaire taken at least twice, with its outcome."""
    series: dict[str, list[tuple[int, date]]] = {}
    for instrument, total, taken_on in responses.order_by("taken_on", "created_at").values_list(
        "instrument", "total", "taken_on"
    ):
        series.setdefault(instrument, []).append((total, taken_on))
    rows = []
    for instrument in measures.Instrument:
        points = series.get(instrument.value, [])
        if len(points) < 2:
            continue
        (baseline, baseline_on), (latest, latest_on) = points[0], points[-1]
        outcome = measures.outcome(instrument.value, baseline, latest)
        rows.append(
            {
                "label": instrument.label,
                "baseline": baseline,
                "baseline_on": baseline_on,
                "baseline_band": measures.band_for(instrument.value, baseline),
                "latest": latest,
                "latest_on": latest_on,
                "latest_band": measures.band_for(instrument.value, latest),
                "outcome": outcome,
            }
        )
    return rows


def _display(field: forms.Field, value: Any) -> str:
    """A stored or typed value as the person reads it, for the conflict table."""
    if value is None or value == "" or value == [] or value == ():
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, date):
        return f"{value:%d %b %Y}"
    choices = getattr(field, "choices", None)
    if choices is not None:
        labels = {str(key): str(label) for key, label in choices}
        values = value if isinstance(value, list | tuple | QuerySet) else [value]
        shown = [labels.get(str(getattr(v, "pk", v)), str(v)) for v in values]
        return ", ".join(shown) if shown else "—"
    return str(value)


def _conflict_rows(
    form: SessionLogForm, stored: TherapySession, stored_measures: list[MeasureResponse]
) -> list[tuple[str, str, str]]:
    """(label, saved value, your value) for every field where the saved session and the form differ."""
    main = form.main
    names = [name for name, field in main.fields.items() if not field.widget.is_hidden]
    saved = model_to_dict(stored, fields=names)
    rows = []
    for name in names:
        field = main.fields[name]
        theirs, yours = _display(field, saved.get(name)), _display(field, main.cleaned_data.get(name))
        if theirs != yours:
            rows.append((str(field.label), theirs, yours))
    by_instrument = {m.instrument: m for m in stored_measures}
    for measure_form in form.measures:
        response = by_instrument.get(measure_form.instrument)
        answers = measure_form.answers() if form.attended else None
        theirs = _answers_display(response.items if response else None)
        yours = _answers_display(answers.items if answers else None)
        if theirs != yours:
            rows.append((f"{measure_form.label} answers", theirs, yours))
    return rows


def _answers_display(items: list[int] | None) -> str:
    if items is None:
        return "not taken"
    return f"{', '.join(str(v) for v in items)} (total {sum(items)})"


urlpatterns = [
    path("sessions/<uuid:public_id>/", session_detail, name="session-detail"),
    path("sessions/<uuid:public_id>/edit/", session_edit, name="session-edit"),
    path("sessions/<uuid:public_id>/addenda/new/", addendum_create, name="session-addendum-create"),
    path("courses/<uuid:public_id>/sessions/new/", session_create, name="session-create"),
]
