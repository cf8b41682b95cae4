"""The initial-phase stepper: six steps, each its own form, saved as it is done.

/courses/<id>/initial/<step>/ for the steps (symptoms, psychoeducation,
inventory, problem-areas, formulation, contract); the inventory step has
its own add/edit/remove routes for people. Only the patient's treating
therapist uses these pages (they are forms): clinic admins get 403, rows
outside the user's scope 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sessions_app import access, audit, charts, ipt, measures
from sessions_app.decorators import staff_required
from sessions_app.forms.initial import (
    ContractForm,
    FormulationForm,
    ProblemAreasForm,
    PsychoeducationForm,
    RelationshipEntryForm,
    SymptomReviewForm,
    goal_formset_class,
)
from sessions_app.models import AuditEvent, Course, RelationshipEntry
from sessions_app.services import courses as course_services


@dataclass(frozen=True)
class Step:
    slug: str
    number: int
    title: str
    task_codes: tuple[str, ...]  # the ipt.INITIAL_TASK_CODES this step completes


STEPS: tuple[Step, ...] = (
    Step("symptoms", 1, "Symptoms and medication", ("symptoms", "medication")),
    Step("psychoeducation", 2, "Psychoeducation and the sick role", ("psychoeducation",)),
    Step("inventory", 3, "Interpersonal inventory", ("inventory",)),
    Step("problem-areas", 4, "Problem areas", ("problem_area",)),
    Step("formulation", 5, "Formulation", ("formulation",)),
    Step("contract", 6, "Treatment contract and goals", ("contract",)),
)
STEP_BY_SLUG = {step.slug: step for step in STEPS}
# Which step completes each initial task: the course page links its checklist here.
STEP_FOR_TASK = {code: step.slug for step in STEPS for code in step.task_codes}


@dataclass(frozen=True)
class StepState:
    step: Step
    done: bool
    current: bool
    url: str


def step_url(course: Course, slug: str) -> str:
    return reverse("initial-step", kwargs={"public_id": course.public_id, "step": slug})


def _course_for_therapist(request: HttpRequest, public_id: str) -> Course:
    """The course in the user's scope (else 404), for its treating therapist only (else 403)."""
    course = access.get_or_404(access.courses_for(request.user), public_id)
    access.require_treating_therapist(request.user, course.patient)
    return course


def _step_states(course: Course, current: Step | None) -> list[StepState]:
    done = {
        item.code: item.done for item in ipt.initial_checklist(course_services.load_initial_facts(course))
    }
    return [
        StepState(
            step=step,
            done=all(done[code] for code in step.task_codes),
            current=step == current,
            url=step_url(course, step.slug),
        )
        for step in STEPS
    ]


def _next_step(step: Step) -> Step | None:
    return STEPS[step.number] if step.number < len(STEPS) else None


def _render_step(
    request: HttpRequest, course: Course, step: Step, template: str, context: dict
) -> HttpResponse:
    states = _step_states(course, step)
    next_step = _next_step(step)
    context = {
        "course": course,
        "step": step,
        "steps": states,
        "can_edit": course.status == Course.Status.ACTIVE,
        "next_url": step_url(course, next_step.slug) if next_step else course.get_absolute_url(),
        "next_title": next_step.title if next_step else "Back to the course",
        **context,
    }
    return render(request, template, context)


def _audit_result(request: HttpRequest, result: course_services.StepResult, course: Course) -> None:
    patient = course.patient
    for action, rows in (
        (AuditEvent.Action.CREATE, result.created),
        (AuditEvent.Action.UPDATE, result.updated),
        (AuditEvent.Action.DELETE, result.deleted),
    ):
        for row in rows:
            audit.record(request, action, row, patient=patient)
    if result.moved_to_middle:
        audit.record(request, AuditEvent.Action.UPDATE, course, patient=patient)


def _saved(request: HttpRequest, course: Course, result: course_services.StepResult, text: str) -> None:
    _audit_result(request, result, course)
    messages.success(request, text)
    if result.moved_to_middle:
        messages.success(request, "Every initial task is done: the course has moved to the middle phase.")


def _refuse_closed(request: HttpRequest, course: Course) -> HttpResponse | None:
    if course.status != Course.Status.ACTIVE:
        messages.error(
            request, f"This course is {course.get_status_display().lower()}; it can no longer be changed."
        )
        return redirect(course)
    return None


def _form_error(form, exc: ValidationError) -> None:
    """Put a service's refusal on the form, so the page re-renders with everything typed."""
    for message in exc.messages:
        form.add_error(None, message)


# --- Entry and dispatch ---------------------------------------------------------------------------


@staff_required
@require_GET
def initial_start(request: HttpRequest, public_id: str) -> HttpResponse:
    """Open the stepper at the first step still missing (or the first step)."""
    course = _course_for_therapist(request, public_id)
    states = _step_states(course, None)
    first_missing = next((s for s in states if not s.done), states[0])
    return redirect(first_missing.url)


@staff_required
@require_http_methods(["GET", "POST"])
def initial_step(request: HttpRequest, public_id: str, step: str) -> HttpResponse:
    """One step of the initial phase: GET shows its form, POST saves it."""
    course = _course_for_therapist(request, public_id)
    current = STEP_BY_SLUG.get(step)
    if current is None:
        raise Http404("No such step.")
    if request.method == "POST":
        refused = _refuse_closed(request, course)
        if refused:
            return refused
    else:
        audit.record(request, AuditEvent.Action.VIEW, course, patient=course.patient)
    return HANDLERS[current.slug](request, course, current)


# --- Step 1 ---------------------------------------------------------------------------------------


def _symptoms(request: HttpRequest, course: Course, step: Step) -> HttpResponse:
    phq9 = course_services.intake_measure(course, measures.Instrument.PHQ9)
    gad7 = course_services.intake_measure(course, measures.Instrument.GAD7)
    if request.method == "POST":
        form = SymptomReviewForm(request.POST)
        if form.is_valid():
            try:
                result = course_services.initial_symptoms_record(
                    course=course,
                    by=request.user,
                    taken_on=form.cleaned_data["taken_on"],
                    phq9_items=form.items(measures.Instrument.PHQ9),
                    phq9_difficulty=form.difficulty(measures.Instrument.PHQ9),
                    gad7_items=form.items(measures.Instrument.GAD7),
                    gad7_difficulty=form.difficulty(measures.Instrument.GAD7),
                    conditions=form.cleaned_data["conditions"],
                    conditions_other=form.cleaned_data["conditions_other"].strip(),
                    medication=form.cleaned_data["medication"],
                    medication_reviewed_on=form.cleaned_data["medication_reviewed_on"],
                )
            except ValidationError as exc:
                _form_error(form, exc)
            else:
                phq9 = course_services.intake_measure(course, measures.Instrument.PHQ9)
                text = f"Symptom review saved. PHQ-9 total {phq9.total}: {phq9.get_band_display().lower()}."
                _saved(request, course, result, text)
                if phq9.item9_positive:
                    messages.warning(
                        request,
                        "PHQ-9 item 9 is above 0: record a risk check in the session before signing it.",
                    )
                return redirect(step_url(course, step.slug))
    else:
        form = SymptomReviewForm(initial=SymptomReviewForm.initial_for(course.patient, phq9, gad7))
    context = {"form": form, "phq9": phq9, "gad7": gad7, "stem": measures.STEM}
    return _render_step(request, course, step, "course/initial/symptoms.html", context)


# --- Step 2 ---------------------------------------------------------------------------------------


def _psychoeducation(request: HttpRequest, course: Course, step: Step) -> HttpResponse:
    if request.method == "POST":
        form = PsychoeducationForm(request.POST)
        if form.is_valid():
            try:
                result = course_services.course_psychoeducation_record(
                    course=course, on=form.cleaned_data["psychoeducation_on"]
                )
            except ValidationError as exc:
                _form_error(form, exc)
            else:
                _saved(request, course, result, "Psychoeducation and the sick role recorded.")
                return redirect(step_url(course, _next_step(step).slug))
    else:
        form = PsychoeducationForm(initial={"psychoeducation_on": course.psychoeducation_on})
    return _render_step(request, course, step, "course/initial/psychoeducation.html", {"form": form})


# --- Step 3 ---------------------------------------------------------------------------------------


def _people(request: HttpRequest, course: Course):
    return access.relationships_for(request.user).filter(course=course)


def _inventory_context(request: HttpRequest, course: Course) -> dict:
    people = list(_people(request, course).annotate(focus_count=Count("foci")))
    circle = charts.closeness_circle([(p.name, p.closeness_ring, p.is_deceased) for p in people])
    return {"people": people, "circle": circle}


def _inventory(request: HttpRequest, course: Course, step: Step) -> HttpResponse:
    """The inventory list with the closeness circle; its form adds a person."""
    if request.method == "POST":
        form = RelationshipEntryForm(request.POST, instance=RelationshipEntry(course=course))
        if form.is_valid():
            try:
                result = course_services.relationship_save(course=course, entry=form.instance)
            except ValidationError as exc:
                _form_error(form, exc)
            else:
                _saved(request, course, result, f"{form.instance.name} added to the inventory.")
                return redirect(step_url(course, step.slug))
    else:
        form = RelationshipEntryForm()
    context = {"form": form, **_inventory_context(request, course)}
    return _render_step(request, course, step, "course/initial/inventory.html", context)


@staff_required
@require_http_methods(["GET", "POST"])
def person_edit(request: HttpRequest, public_id: str, person_id: str) -> HttpResponse:
    """Edit one person of the inventory."""
    course = _course_for_therapist(request, public_id)
    person = access.get_or_404(_people(request, course), person_id)
    step = STEP_BY_SLUG["inventory"]
    if request.method == "POST":
        refused = _refuse_closed(request, course)
        if refused:
            return refused
        form = RelationshipEntryForm(request.POST, instance=person)
        if form.is_valid():
            try:
                result = course_services.relationship_save(course=course, entry=form.instance)
            except ValidationError as exc:
                _form_error(form, exc)
            else:
                _saved(request, course, result, f"{form.instance.name}: changes saved.")
                return redirect(step_url(course, step.slug))
    else:
        audit.record(request, AuditEvent.Action.VIEW, person, patient=course.patient)
        form = RelationshipEntryForm(instance=person)
    return _render_step(
        request, course, step, "course/initial/person_form.html", {"form": form, "person": person}
    )


@staff_required
@require_POST
def person_remove(request: HttpRequest, public_id: str, person_id: str) -> HttpResponse:
    """Take a person off the inventory, unless the record still refers to them."""
    course = _course_for_therapist(request, public_id)
    person = access.get_or_404(_people(request, course), person_id)
    refused = _refuse_closed(request, course)
    if refused:
        return refused
    name = person.name
    try:
        result = course_services.relationship_remove(course=course, entry=person)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        _saved(request, course, result, f"{name} removed from the inventory.")
    return redirect(step_url(course, "inventory"))


# --- Step 4 ---------------------------------------------------------------------------------------


def _problem_areas(request: HttpRequest, course: Course, step: Step) -> HttpResponse:
    foci = list(access.foci_for(request.user).filter(course=course))
    primary = next((f for f in foci if f.is_primary), None)
    second = next((f for f in foci if not f.is_primary), None)
    people = _people(request, course)
    if request.method == "POST":
        form = ProblemAreasForm(request.POST, people=people)
        if form.is_valid():
            try:
                result = course_services.course_foci_set(
                    course=course, primary=form.primary.to_input(), second=form.second.to_input()
                )
            except course_services.FocusInUse as exc:
                # The area that would be dropped was the primary or the second one: say so there.
                target = form.primary if exc.focus.is_primary else form.second
                target.add_error("area", exc.messages[0])
            except ValidationError as exc:
                _form_error(form.primary, exc)
            else:
                _saved(request, course, result, "Problem areas saved.")
                for warning in ipt.focus_warnings(form.areas()):
                    messages.warning(request, warning)
                return redirect(step_url(course, _next_step(step).slug))
    else:
        form = ProblemAreasForm(people=people, primary=primary, second=second)
    context = {
        "form": form,
        "warnings": ipt.focus_warnings(form.areas()),
        "has_people": people.exists(),
        "guides": [ipt.AREA_GUIDES[area] for area in ipt.ProblemArea.values],
    }
    return _render_step(request, course, step, "course/initial/problem_areas.html", context)


# --- Step 5 ---------------------------------------------------------------------------------------


def _formulation(request: HttpRequest, course: Course, step: Step) -> HttpResponse:
    if request.method == "POST":
        form = FormulationForm(request.POST)
        if form.is_valid():
            try:
                result = course_services.course_formulation_record(
                    course=course,
                    formulation=form.cleaned_data["formulation"],
                    shared_on=form.cleaned_data["formulation_shared_on"],
                    agreed=form.cleaned_data["formulation_agreed"],
                )
            except ValidationError as exc:
                _form_error(form, exc)
            else:
                _saved(request, course, result, "Formulation saved.")
                return redirect(step_url(course, _next_step(step).slug))
    else:
        form = FormulationForm(initial=FormulationForm.initial_for(course))
    return _render_step(request, course, step, "course/initial/formulation.html", {"form": form})


# --- Step 6 ---------------------------------------------------------------------------------------


def _contract(request: HttpRequest, course: Course, step: Step) -> HttpResponse:
    user = request.user
    foci = access.foci_for(user).filter(course=course)
    goals = (
        access.goals_for(user)
        .filter(focus__course=course)
        .select_related("focus")
        .annotate(review_count=Count("reviews"))
        .order_by("focus__created_at", "created_at")
    )
    focus_list = list(foci)
    existing = goals.count()
    # New courses get one blank goal per chosen area (at least two rows); later visits one spare row.
    extra = max(len(focus_list), 2) if existing == 0 else 1
    # Every blank row starts on an area: the select always posts one, and a row
    # nobody typed in must still count as unchanged (and be skipped).
    initial = [{"focus": focus_list[i % len(focus_list)].pk} for i in range(extra)] if focus_list else []
    formset_class = goal_formset_class(extra=extra)
    if request.method == "POST":
        form = ContractForm(request.POST, course=course, initial=ContractForm.initial_for(course))
        formset = formset_class(request.POST, queryset=goals, foci=foci, prefix="goals", initial=initial)
        if form.is_valid() & formset.is_valid():
            try:
                result = course_services.course_contract_agree(
                    course=course,
                    planned_sessions=form.cleaned_data["planned_sessions"],
                    frequency=form.cleaned_data["frequency"],
                    contract_date=form.cleaned_data["contract_date"],
                    goals=[f.instance for f in _changed_goal_forms(formset)],
                    deleted_goals=[f.instance for f in formset.deleted_forms if f.instance.pk],
                )
            except ValidationError as exc:
                _form_error(form, exc)
            else:
                _saved(request, course, result, "Treatment contract and goals saved.")
                return redirect(course)
    else:
        form = ContractForm(course=course, initial=ContractForm.initial_for(course))
        formset = formset_class(queryset=goals, foci=foci, prefix="goals", initial=initial)
    context = {"form": form, "formset": formset, "foci": focus_list}
    return _render_step(request, course, step, "course/initial/contract.html", context)


def _changed_goal_forms(formset) -> list:
    """Forms holding a new goal or a change to one (not deleted, not blank)."""
    deleted = set(map(id, formset.deleted_forms))
    return [f for f in formset.forms if f.has_changed() and id(f) not in deleted]


HANDLERS = {
    "symptoms": _symptoms,
    "psychoeducation": _psychoeducation,
    "inventory": _inventory,
    "problem-areas": _problem_areas,
    "formulation": _formulation,
    "contract": _contract,
}

urlpatterns = [
    path("courses/<uuid:public_id>/initial/", initial_start, name="initial-start"),
    path("courses/<uuid:public_id>/initial/<slug:step>/", initial_step, name="initial-step"),
    path(
        "courses/<uuid:public_id>/initial/inventory/<uuid:person_id>/edit/",
        person_edit,
        name="initial-person-edit",
    ),
    path(
        "courses/<uuid:public_id>/initial/inventory/<uuid:person_id>/remove/",
        person_remove,
        name="initial-person-remove",
    ),
]
