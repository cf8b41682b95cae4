"""The initial-phase stepper (/courses/<id>/initial/<step>/) and the checklist rules behind it.

Every step is a form of the treating therapist: other therapists and other
clinics get 404, clinic admins and patients 403, anonymous users the login
page. Each form re-renders with errors at the field and everything typed
kept. When every initial task is done the course moves to the middle phase.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from sessions_app import ipt, measures
from sessions_app.models import AuditEvent, Course, Goal, MeasureResponse, ProblemAreaFocus, RelationshipEntry
from sessions_app.services import courses as course_services
from sessions_app.views.initial import STEP_FOR_TASK, STEPS
from tests import factories

pytestmark = pytest.mark.django_db

STEP_SLUGS = [step.slug for step in STEPS]
TODAY = timezone.localdate
FUTURE = (dt.date.today() + dt.timedelta(days=30)).isoformat()


def url(course, step: str) -> str:
    return reverse("initial-step", kwargs={"public_id": course.public_id, "step": step})


def signed_in(client, user):
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def field_errors(response, field: str, form: str = "form") -> list[str]:
    return list(response.context[form].errors.get(field, []))


def phq9_data(answers=(2, 2, 1, 1, 1, 1, 1, 0, 0), **extra) -> dict:
    data = {f"phq9_{n}": str(v) for n, v in enumerate(answers, start=1)}
    data.update({"taken_on": "2026-09-01", "conditions": ["depression"], "medication": "Sertraline 50 mg"})
    data.update(extra)
    return data


def gad7_data(answers=(1, 1, 1, 1, 1, 1, 1)) -> dict:
    return {f"gad7_{n}": str(v) for n, v in enumerate(answers, start=1)}


def person_data(**extra) -> dict:
    data = {"name": "Sam", "relationship": "partner", "closeness_ring": "1", "knows_patient_low": "unknown"}
    data.update(extra)
    return data


def goals_data(rows: list[dict], initial: int = 0) -> dict:
    data = {
        "goals-TOTAL_FORMS": str(len(rows)),
        "goals-INITIAL_FORMS": str(initial),
        "goals-MIN_NUM_FORMS": "0",
        "goals-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"goals-{i}-{key}"] = value
    return data


def contract_data(goals: list[dict], initial: int = 0, **extra) -> dict:
    data = {"planned_sessions": "12", "frequency": "weekly", "contract_date": "2026-09-08"}
    data.update(extra)
    data.update(goals_data(goals, initial))
    return data


# --- Access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", STEP_SLUGS)
def test_treating_therapist_opens_every_step(client, therapist, course, step):
    response = signed_in(client, therapist).get(url(course, step))
    assert response.status_code == 200
    assert 'data-testid="step-nav"' in response.content.decode()


@pytest.mark.parametrize("step", STEP_SLUGS)
@pytest.mark.parametrize(
    ("persona", "status"),
    [("clinic_admin", 403), ("patient_user", 403), ("other_therapist", 404), ("other_clinic_admin", 404)],
)
def test_others_cannot_open_or_post_a_step(client, request, course, step, persona, status):
    signed_in(client, request.getfixturevalue(persona))
    assert client.get(url(course, step)).status_code == status
    assert client.post(url(course, step), phq9_data()).status_code == status
    assert not MeasureResponse.objects.exists()
    assert not RelationshipEntry.objects.exists()


@pytest.mark.parametrize("step", STEP_SLUGS)
def test_anonymous_is_sent_to_login(client, course, step):
    response = client.get(url(course, step))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_unknown_step_is_404(client, therapist, course):
    assert signed_in(client, therapist).get(url(course, "no-such-step")).status_code == 404


def test_step_views_are_audited(client, therapist, course):
    signed_in(client, therapist).get(url(course, "formulation"))
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW)
    assert (event.object_type, event.object_id) == ("Course", str(course.public_id))
    assert event.patient_public_id == course.patient.public_id


def test_start_opens_the_first_missing_step(client, therapist, course):
    signed_in(client, therapist)
    start = reverse("initial-start", kwargs={"public_id": course.public_id})
    assert client.get(start).url == url(course, "symptoms")
    factories.MeasureResponseFactory(course=course)
    course.patient.medication_reviewed_on = dt.date(2026, 9, 1)
    course.patient.save()
    assert client.get(start).url == url(course, "psychoeducation")


def test_step_nav_shows_done_and_missing(client, therapist, course):
    factories.RelationshipEntryFactory(course=course)
    response = signed_in(client, therapist).get(url(course, "psychoeducation"))
    states = {s.step.slug: s.done for s in response.context["steps"]}
    assert states == dict.fromkeys(STEP_SLUGS, False) | {"inventory": True}
    html = response.content.decode()
    assert html.count("✓ Done") == 1
    assert html.count("To do") == 5
    assert 'aria-current="step"' in html


def test_posting_to_a_closed_course_is_refused(client, therapist, course):
    course.status = Course.Status.DISCONTINUED
    course.end_date = dt.date(2026, 10, 1)
    course.end_reason = "Moved away"
    course.save()
    response = signed_in(client, therapist).post(url(course, "symptoms"), phq9_data(), follow=True)
    assert "it can no longer be changed" in " ".join(messages_of(response))
    assert not MeasureResponse.objects.exists()
    # Still readable, but without save buttons.
    html = client.get(url(course, "formulation")).content.decode()
    assert "Save formulation" not in html
    assert "can be read but no longer changed" in html


# --- Step 1: symptoms -----------------------------------------------------------------------------


def test_symptom_page_has_the_exact_item_wording_and_answers(client, therapist, course):
    html = signed_in(client, therapist).get(url(course, "symptoms")).content.decode()
    for wording in (*measures.ITEMS[measures.Instrument.PHQ9], *measures.ITEMS[measures.Instrument.GAD7]):
        assert escape(wording) in html
    for _, answer in measures.ANSWERS:
        assert answer in html
    assert escape(measures.STEM) in html
    assert escape(measures.DIFFICULTY_QUESTION) in html
    assert html.count('type="radio" class="form-check-input"  name="phq9_1"') == 4


def test_symptom_review_records_the_intake_phq9_and_the_patient_record(client, therapist, course):
    data = phq9_data(
        conditions=["depression", "anxiety"], medication_reviewed_on="2026-09-01", phq9_difficulty="2"
    )
    response = signed_in(client, therapist).post(url(course, "symptoms"), data, follow=True)
    measure = MeasureResponse.objects.get()
    assert (measure.course, measure.session, measure.patient) == (course, None, course.patient)
    assert (measure.total, measure.band, measure.difficulty) == (9, "mild", 2)
    assert measure.items == [2, 2, 1, 1, 1, 1, 1, 0, 0]
    assert measure.recorded_by == therapist
    assert "PHQ-9 total 9: mild." in " ".join(messages_of(response))
    assert 'data-testid="phq9-result"' in response.content.decode()
    patient = course.patient
    patient.refresh_from_db()
    assert patient.conditions == ["depression", "anxiety"]
    assert patient.medication == "Sertraline 50 mg"
    assert patient.medication_reviewed_on == dt.date(2026, 9, 1)
    actions = set(AuditEvent.objects.values_list("action", "object_type"))
    assert {("create", "MeasureResponse"), ("update", "Patient")} <= actions


def test_saving_again_edits_the_intake_questionnaire_in_place(client, therapist, course):
    signed_in(client, therapist).post(url(course, "symptoms"), phq9_data())
    client.post(url(course, "symptoms"), phq9_data(answers=(3,) * 9))
    measure = MeasureResponse.objects.get()
    assert measure.total == 27
    assert measure.band == "severe"
    # The form opens with the stored answers.
    form = client.get(url(course, "symptoms")).context["form"]
    assert form["phq9_1"].value() == 3
    assert form["taken_on"].value() == dt.date(2026, 9, 1)


def test_optional_gad7_is_recorded_and_removed_when_cleared(client, therapist, course):
    signed_in(client, therapist)
    client.post(url(course, "symptoms"), phq9_data(**gad7_data()))
    gad7 = MeasureResponse.objects.get(instrument=measures.Instrument.GAD7)
    assert (gad7.total, gad7.band, gad7.session) == (7, "mild", None)
    client.post(url(course, "symptoms"), phq9_data())
    assert not MeasureResponse.objects.filter(instrument=measures.Instrument.GAD7).exists()
    assert AuditEvent.objects.filter(action="delete", object_type="MeasureResponse").count() == 1


def test_item9_positive_warns_about_the_risk_check(client, therapist, course):
    response = signed_in(client, therapist).post(
        url(course, "symptoms"), phq9_data(answers=(1,) * 9), follow=True
    )
    assert MeasureResponse.objects.get().item9_positive
    assert any("risk check" in m for m in messages_of(response))


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"phq9_4": ""}, "phq9_4", "This field is required."),
        ({"phq9_9": "7"}, "phq9_9", "Select a valid choice."),
        ({"phq9_2": "abc"}, "phq9_2", "Select a valid choice."),
        ({"taken_on": ""}, "taken_on", "This field is required."),
        ({"taken_on": "31/02/2026"}, "taken_on", "Enter a valid date."),
        ({"taken_on": FUTURE}, "taken_on", "This date is in the future."),
        ({"medication_reviewed_on": FUTURE}, "medication_reviewed_on", "This date is in the future."),
        ({"conditions": ["other"]}, "conditions_other", "Name the other condition."),
        ({"conditions": ["witchcraft"]}, "conditions", "Select a valid choice."),
        ({"gad7_1": "2"}, "gad7_2", "Answer every GAD-7 item, or leave them all blank."),
        ({"gad7_difficulty": "1"}, "gad7_difficulty", "Answer the GAD-7 items too, or leave this blank."),
        ({"phq9_difficulty": "9"}, "phq9_difficulty", "Select a valid choice."),
    ],
)
def test_symptom_review_errors_are_at_the_field_and_input_is_kept(
    client, therapist, course, change, field, error
):
    data = phq9_data(medication="Kept medication text", phq9_3="3")
    data.update(change)
    response = signed_in(client, therapist).post(url(course, "symptoms"), data)
    assert response.status_code == 200
    assert any(error in e for e in field_errors(response, field))
    form = response.context["form"]
    assert form["medication"].value() == "Kept medication text"
    assert form["phq9_3"].value() == "3"
    assert "Kept medication text" in response.content.decode()
    assert not MeasureResponse.objects.exists()


def test_naming_another_condition_ticks_other(client, therapist, course):
    signed_in(client, therapist).post(url(course, "symptoms"), phq9_data(conditions_other="Insomnia"))
    course.patient.refresh_from_db()
    assert course.patient.conditions == ["depression", "other"]
    assert course.patient.conditions_other == "Insomnia"


# --- Step 2: psychoeducation ----------------------------------------------------------------------


def test_psychoeducation_is_recorded_with_its_date(client, therapist, course):
    response = signed_in(client, therapist).post(
        url(course, "psychoeducation"), {"psychoeducation_on": "2026-09-01"}
    )
    assert response.url == url(course, "inventory")
    course.refresh_from_db()
    assert course.psychoeducation_on == dt.date(2026, 9, 1)
    assert AuditEvent.objects.filter(action="update", object_type="Course").exists()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("", "This field is required."),
        ("yesterday", "Enter a valid date."),
        (FUTURE, "This date is in the future."),
    ],
)
def test_psychoeducation_date_errors(client, therapist, course, value, error):
    response = signed_in(client, therapist).post(
        url(course, "psychoeducation"), {"psychoeducation_on": value}
    )
    assert response.status_code == 200
    assert field_errors(response, "psychoeducation_on") == [error]
    assert response.context["form"]["psychoeducation_on"].value() == value
    course.refresh_from_db()
    assert course.psychoeducation_on is None


# --- Step 3: inventory ----------------------------------------------------------------------------


def test_adding_a_person_redraws_the_closeness_circle(client, therapist, course):
    signed_in(client, therapist)
    response = client.post(url(course, "inventory"), person_data(positives="Kind", expectations_met="partly"))
    assert response.url == url(course, "inventory")
    person = RelationshipEntry.objects.get()
    assert (person.course, person.name, person.closeness_ring, person.expectations_met) == (
        course,
        "Sam",
        1,
        "partly",
    )
    assert person.knows_patient_low is None
    html = client.get(url(course, "inventory")).content.decode()
    circle = html[html.index('data-testid="closeness-circle"') : html.index("</svg>")]
    assert ">Sam<" in circle
    assert 'data-ring="1"' in circle
    assert AuditEvent.objects.filter(action="create", object_type="RelationshipEntry").exists()


def test_inventory_names_are_escaped(client, therapist, course):
    factories.RelationshipEntryFactory(course=course, name="<b>Bold</b>")
    html = signed_in(client, therapist).get(url(course, "inventory")).content.decode()
    assert "<b>Bold</b>" not in html
    assert "&lt;b&gt;Bold&lt;/b&gt;" in html


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"name": ""}, "name", "This field is required."),
        (
            {"closeness_ring": "5"},
            "closeness_ring",
            "Select a valid choice. 5 is not one of the available choices.",
        ),
        (
            {"closeness_ring": "x"},
            "closeness_ring",
            "Select a valid choice. x is not one of the available choices.",
        ),
        (
            {"relationship": "enemy"},
            "relationship",
            "Select a valid choice. enemy is not one of the available choices.",
        ),
        ({"name": "x" * 101}, "name", "Ensure this value has at most 100 characters (it has 101)."),
    ],
)
def test_add_person_errors(client, therapist, course, change, field, error):
    data = person_data(positives="Typed positives")
    data.update(change)
    response = signed_in(client, therapist).post(url(course, "inventory"), data)
    assert response.status_code == 200
    assert field_errors(response, field) == [error]
    assert response.context["form"]["positives"].value() == "Typed positives"
    assert not RelationshipEntry.objects.exists()


def person_url(name: str, course, person) -> str:
    return reverse(name, kwargs={"public_id": course.public_id, "person_id": person.public_id})


def test_editing_a_person(client, therapist, course):
    person = factories.RelationshipEntryFactory(course=course, name="Jo", closeness_ring=2)
    signed_in(client, therapist)
    assert client.get(person_url("initial-person-edit", course, person)).status_code == 200
    response = client.post(
        person_url("initial-person-edit", course, person), person_data(name="Jo", closeness_ring="3")
    )
    assert response.url == url(course, "inventory")
    person.refresh_from_db()
    assert (person.closeness_ring, person.relationship) == (3, "partner")


def test_edit_errors_keep_the_input(client, therapist, course):
    person = factories.RelationshipEntryFactory(course=course, name="Jo")
    response = signed_in(client, therapist).post(
        person_url("initial-person-edit", course, person), person_data(name="", negatives="Typed")
    )
    assert response.status_code == 200
    assert field_errors(response, "name") == ["This field is required."]
    assert response.context["form"]["negatives"].value() == "Typed"
    person.refresh_from_db()
    assert person.name == "Jo"


def test_a_person_of_another_course_is_404(client, therapist, course, other_course):
    foreign = factories.RelationshipEntryFactory(course=other_course)
    own_course_other = factories.CourseFactory(patient=course.patient)
    sibling = factories.RelationshipEntryFactory(course=own_course_other)
    signed_in(client, therapist)
    for person in (foreign, sibling):
        assert client.get(person_url("initial-person-edit", course, person)).status_code == 404
        assert client.post(person_url("initial-person-remove", course, person)).status_code == 404
    assert RelationshipEntry.objects.count() == 2


@pytest.mark.parametrize(
    ("persona", "status"), [("clinic_admin", 403), ("patient_user", 403), ("other_therapist", 404)]
)
def test_others_cannot_edit_or_remove_a_person(client, request, course, persona, status):
    person = factories.RelationshipEntryFactory(course=course, name="Jo")
    signed_in(client, request.getfixturevalue(persona))
    assert client.get(person_url("initial-person-edit", course, person)).status_code == status
    assert client.post(person_url("initial-person-edit", course, person), person_data()).status_code == status
    assert client.post(person_url("initial-person-remove", course, person)).status_code == status
    person.refresh_from_db()
    assert person.name == "Jo"


def test_removing_a_person(client, therapist, course):
    person = factories.RelationshipEntryFactory(course=course, name="Jo")
    signed_in(client, therapist)
    assert client.get(person_url("initial-person-remove", course, person)).status_code == 405
    response = client.post(person_url("initial-person-remove", course, person), follow=True)
    assert "Jo removed from the inventory." in messages_of(response)
    assert not RelationshipEntry.objects.exists()
    assert AuditEvent.objects.filter(action="delete", object_type="RelationshipEntry").exists()


def test_removing_the_person_of_a_focus_is_refused(client, therapist, course):
    person = factories.RelationshipEntryFactory(course=course, name="Sam")
    factories.RoleDisputeFocusFactory(course=course, person=person)
    response = signed_in(client, therapist).post(
        person_url("initial-person-remove", course, person), follow=True
    )
    assert "Sam is the person of a problem area; change the problem area first." in messages_of(response)
    assert RelationshipEntry.objects.filter(pk=person.pk).exists()


def test_removing_a_person_named_in_a_session_is_refused(client, therapist, course):
    person = factories.RelationshipEntryFactory(course=course, name="Sam")
    factories.TherapySessionFactory(course=course, number=1).joint_attendees.add(person)
    response = signed_in(client, therapist).post(
        person_url("initial-person-remove", course, person), follow=True
    )
    assert "Sam is named in a session record, so they stay in the inventory." in messages_of(response)
    assert RelationshipEntry.objects.filter(pk=person.pk).exists()


# --- Step 4: problem areas ------------------------------------------------------------------------


def areas_data(primary: dict, second: dict | None = None) -> dict:
    data = {f"primary-{k}": v for k, v in primary.items()}
    data.update({f"second-{k}": v for k, v in (second or {"area": ""}).items()})
    return data


def test_role_dispute_with_its_stage_and_person(client, therapist, course):
    sam = factories.RelationshipEntryFactory(course=course, name="Sam")
    data = areas_data(
        {
            "area": "role_dispute",
            "dispute_stage": "renegotiation",
            "person": str(sam.pk),
            "rationale": "Onset with the arguments",
            "old_role": "ignored: not a transition",
        }
    )
    response = signed_in(client, therapist).post(url(course, "problem-areas"), data)
    assert response.url == url(course, "formulation")
    focus = ProblemAreaFocus.objects.get()
    assert (focus.area, focus.is_primary, focus.dispute_stage, focus.person) == (
        "role_dispute",
        True,
        "renegotiation",
        sam,
    )
    assert focus.old_role == ""
    assert focus.rationale == "Onset with the arguments"


def test_transition_as_second_area(client, therapist, course):
    sam = factories.RelationshipEntryFactory(course=course)
    data = areas_data(
        {"area": "role_dispute", "dispute_stage": "impasse", "person": str(sam.pk)},
        {"area": "role_transition", "old_role": "Nurse", "new_role": "Retired", "change_date": "2026-06-30"},
    )
    signed_in(client, therapist).post(url(course, "problem-areas"), data)
    second = ProblemAreaFocus.objects.get(is_primary=False)
    assert (second.area, second.old_role, second.new_role, second.change_date) == (
        "role_transition",
        "Nurse",
        "Retired",
        dt.date(2026, 6, 30),
    )
    assert second.dispute_stage == ""


def test_grief_marks_the_person_as_deceased(client, therapist, course):
    mum = factories.RelationshipEntryFactory(course=course, name="Mum", relationship="parent")
    data = areas_data({"area": "grief", "person": str(mum.pk), "date_of_death": "2026-03-02"})
    signed_in(client, therapist).post(url(course, "problem-areas"), data)
    focus = ProblemAreaFocus.objects.get()
    assert (focus.area, focus.person, focus.date_of_death) == ("grief", mum, dt.date(2026, 3, 2))
    mum.refresh_from_db()
    assert mum.is_deceased


@pytest.mark.parametrize(
    ("primary", "second", "form", "field", "error"),
    [
        ({"area": ""}, None, "primary", "area", "This field is required."),
        (
            {"area": "sorrow"},
            None,
            "primary",
            "area",
            "Select a valid choice. sorrow is not one of the available choices.",
        ),
        ({"area": "role_dispute"}, None, "primary", "dispute_stage", "Required for role dispute."),
        (
            {"area": "role_dispute", "dispute_stage": "war"},
            None,
            "primary",
            "dispute_stage",
            "Select a valid choice. war is not one of the available choices.",
        ),
        (
            {"area": "role_transition", "new_role": "Retired"},
            None,
            "primary",
            "old_role",
            "Required for role transition.",
        ),
        (
            {"area": "role_transition", "old_role": "A", "new_role": "B"},
            None,
            "primary",
            "change_date",
            "Required for role transition.",
        ),
        ({"area": "grief", "date_of_death": "2026-03-02"}, None, "primary", "person", "Required for grief."),
        ({"area": "grief", "person": "PERSON"}, None, "primary", "date_of_death", "Required for grief."),
        (
            {"area": "grief", "person": "PERSON", "date_of_death": FUTURE},
            None,
            "primary",
            "date_of_death",
            "This date is in the future.",
        ),
        (
            {"area": "grief", "person": "999999", "date_of_death": "2026-03-02"},
            None,
            "primary",
            "person",
            "Select a valid choice. That choice is not one of the available choices.",
        ),
        (
            {"area": "interpersonal_deficits"},
            {"area": "interpersonal_deficits"},
            "second",
            "area",
            "The second problem area must differ from the primary one.",
        ),
        (
            {"area": "interpersonal_deficits"},
            {"area": "role_dispute"},
            "second",
            "dispute_stage",
            "Required for role dispute.",
        ),
    ],
)
def test_problem_area_errors(client, therapist, course, primary, second, form, field, error):
    person = factories.RelationshipEntryFactory(course=course)
    primary = {k: (str(person.pk) if v == "PERSON" else v) for k, v in primary.items()}
    primary.setdefault("rationale", "Typed rationale")
    response = signed_in(client, therapist).post(url(course, "problem-areas"), areas_data(primary, second))
    assert response.status_code == 200
    bound = getattr(response.context["form"], form)
    assert bound.errors.get(field) == [error]
    assert response.context["form"].primary["rationale"].value() == "Typed rationale"
    assert not ProblemAreaFocus.objects.exists()


def test_a_person_of_another_course_cannot_be_chosen(client, therapist, course, other_course):
    foreign = factories.RelationshipEntryFactory(course=other_course)
    data = areas_data({"area": "grief", "person": str(foreign.pk), "date_of_death": "2026-03-02"})
    response = signed_in(client, therapist).post(url(course, "problem-areas"), data)
    assert response.context["form"].primary.errors["person"]
    assert not ProblemAreaFocus.objects.exists()


def test_deficits_beside_another_area_warns_but_saves(client, therapist, course):
    data = areas_data(
        {"area": "role_transition", "old_role": "A", "new_role": "B", "change_date": "2026-01-01"},
        {"area": "interpersonal_deficits"},
    )
    response = signed_in(client, therapist).post(url(course, "problem-areas"), data, follow=True)
    assert ProblemAreaFocus.objects.count() == 2
    warning = ipt.focus_warnings(["role_transition", "interpersonal_deficits"])[0]
    assert warning in messages_of(response)
    page = client.get(url(course, "problem-areas")).content.decode()
    assert escape(warning) in page


def test_swapping_primary_and_second_keeps_goals(client, therapist, course):
    dispute = factories.RoleDisputeFocusFactory(course=course, is_primary=True)
    transition = factories.ProblemAreaFocusFactory(course=course, is_primary=False)
    goal = factories.GoalFactory(focus=dispute)
    data = areas_data(
        {"area": "role_transition", "old_role": "A", "new_role": "B", "change_date": "2026-01-01"},
        {"area": "role_dispute", "dispute_stage": "dissolution"},
    )
    response = signed_in(client, therapist).post(url(course, "problem-areas"), data)
    assert response.status_code == 302
    dispute.refresh_from_db()
    transition.refresh_from_db()
    assert (transition.is_primary, dispute.is_primary, dispute.dispute_stage) == (True, False, "dissolution")
    goal.refresh_from_db()
    assert goal.focus == dispute


def test_dropping_an_area_with_goals_is_refused(client, therapist, course):
    transition = factories.ProblemAreaFocusFactory(course=course, is_primary=True)
    factories.GoalFactory(focus=transition)
    data = areas_data({"area": "role_dispute", "dispute_stage": "impasse", "rationale": "Typed"})
    response = signed_in(client, therapist).post(url(course, "problem-areas"), data)
    assert response.status_code == 200
    assert (
        "Role transition has goals or sessions linked to it"
        in response.context["form"].primary.errors["area"][0]
    )
    assert response.context["form"].primary["rationale"].value() == "Typed"
    assert list(ProblemAreaFocus.objects.values_list("area", flat=True)) == ["role_transition"]


def test_dropping_an_unused_second_area_removes_it(client, therapist, course):
    factories.ProblemAreaFocusFactory(course=course, is_primary=True)
    factories.ProblemAreaFocusFactory(
        course=course, area=ipt.ProblemArea.INTERPERSONAL_DEFICITS, is_primary=False, old_role="", new_role=""
    )
    data = areas_data(
        {"area": "role_transition", "old_role": "A", "new_role": "B", "change_date": "2026-01-01"}
    )
    signed_in(client, therapist).post(url(course, "problem-areas"), data)
    assert list(ProblemAreaFocus.objects.values_list("area", flat=True)) == ["role_transition"]


def test_problem_area_form_opens_with_the_stored_areas(client, therapist, course):
    factories.ProblemAreaFocusFactory(course=course, is_primary=True, old_role="Nurse")
    form = signed_in(client, therapist).get(url(course, "problem-areas")).context["form"]
    assert form.primary["area"].value() == "role_transition"
    assert form.primary["old_role"].value() == "Nurse"
    assert form.second["area"].value() in (None, "")


# --- Step 5: formulation --------------------------------------------------------------------------


def test_formulation_is_saved(client, therapist, course):
    data = {
        "formulation": "Low mood since the move",
        "formulation_shared_on": "2026-09-08",
        "formulation_agreed": "on",
    }
    response = signed_in(client, therapist).post(url(course, "formulation"), data)
    assert response.url == url(course, "contract")
    course.refresh_from_db()
    assert (course.formulation, course.formulation_shared_on, course.formulation_agreed) == (
        "Low mood since the move",
        dt.date(2026, 9, 8),
        True,
    )


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"formulation": ""}, "formulation", "This field is required."),
        (
            {"formulation_agreed": "on"},
            "formulation_shared_on",
            "Record when the formulation was shared with the patient.",
        ),
        ({"formulation_shared_on": FUTURE}, "formulation_shared_on", "This date is in the future."),
        ({"formulation_shared_on": "someday"}, "formulation_shared_on", "Enter a valid date."),
    ],
)
def test_formulation_errors(client, therapist, course, data, field, error):
    post = {"formulation": "Typed formulation"} | data
    response = signed_in(client, therapist).post(url(course, "formulation"), post)
    assert response.status_code == 200
    assert field_errors(response, field) == [error]
    assert response.context["form"]["formulation"].value() == post["formulation"]
    course.refresh_from_db()
    assert course.formulation == ""


# --- Step 6: contract and goals -------------------------------------------------------------------


@pytest.fixture
def two_areas(course):
    dispute = factories.RoleDisputeFocusFactory(course=course, is_primary=True)
    transition = factories.ProblemAreaFocusFactory(course=course, is_primary=False)
    return dispute, transition


def test_contract_page_offers_one_blank_goal_per_area(client, therapist, course, two_areas):
    response = signed_in(client, therapist).get(url(course, "contract"))
    formset = response.context["formset"]
    assert [f["focus"].value() for f in formset.forms] == [two_areas[0].pk, two_areas[1].pk]
    assert 'data-testid="planned-end"' in response.content.decode()


def test_contract_with_a_goal_per_area(client, therapist, course, two_areas):
    dispute, transition = two_areas
    goals = [
        {"focus": str(dispute.pk), "text": "Say what I need to Sam", "visible_to_patient": "on"},
        {"focus": str(transition.pk), "text": "Build a new routine"},
    ]
    response = signed_in(client, therapist).post(
        url(course, "contract"), contract_data(goals, planned_sessions="14", frequency="fortnightly")
    )
    assert response.url == course.get_absolute_url()
    course.refresh_from_db()
    assert (course.planned_sessions, course.frequency, course.contract_date) == (
        14,
        "fortnightly",
        dt.date(2026, 9, 8),
    )
    stored = {(g.focus_id, g.text, g.visible_to_patient) for g in Goal.objects.all()}
    assert stored == {
        (dispute.pk, "Say what I need to Sam", True),
        (transition.pk, "Build a new routine", False),
    }
    assert AuditEvent.objects.filter(action="create", object_type="Goal").count() == 2


def test_planned_end_date_is_computed_from_the_contract(client, therapist, course, two_areas):
    goals = [{"focus": str(two_areas[0].pk), "text": "A"}, {"focus": str(two_areas[1].pk), "text": "B"}]
    signed_in(client, therapist).post(url(course, "contract"), contract_data(goals, planned_sessions="16"))
    course.refresh_from_db()
    html = client.get(url(course, "contract")).content.decode()
    assert course.planned_end_date == course.start_date + dt.timedelta(weeks=15)
    assert f"{course.planned_end_date:%-d %b %Y}" in html


def test_every_area_needs_a_goal(client, therapist, course, two_areas):
    dispute, transition = two_areas
    goals = [
        {"focus": str(dispute.pk), "text": "Typed goal", "visible_to_patient": "on"},
        {"focus": str(transition.pk), "text": "", "visible_to_patient": "on"},  # a row left as it came
    ]
    response = signed_in(client, therapist).post(url(course, "contract"), contract_data(goals))
    assert response.status_code == 200
    assert response.context["formset"].non_form_errors() == [
        "Each problem area needs at least one goal: add one for role transition."
    ]
    assert response.context["formset"].forms[0]["text"].value() == "Typed goal"
    assert not Goal.objects.exists()
    course.refresh_from_db()
    assert course.contract_date is None


def test_contract_needs_problem_areas_first(client, therapist, course):
    response = signed_in(client, therapist).post(url(course, "contract"), contract_data([]))
    assert response.status_code == 200
    assert "Choose the problem areas first" in response.context["formset"].non_form_errors()[0]


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        (
            {"planned_sessions": "17"},
            "planned_sessions",
            "Select a valid choice. 17 is not one of the available choices.",
        ),
        (
            {"planned_sessions": "11"},
            "planned_sessions",
            "Select a valid choice. 11 is not one of the available choices.",
        ),
        (
            {"planned_sessions": "twelve"},
            "planned_sessions",
            "Select a valid choice. twelve is not one of the available choices.",
        ),
        (
            {"frequency": "daily"},
            "frequency",
            "Select a valid choice. daily is not one of the available choices.",
        ),
        ({"contract_date": ""}, "contract_date", "This field is required."),
        ({"contract_date": FUTURE}, "contract_date", "This date is in the future."),
    ],
)
def test_contract_errors(client, therapist, course, two_areas, change, field, error):
    goals = [
        {"focus": str(two_areas[0].pk), "text": "Typed A"},
        {"focus": str(two_areas[1].pk), "text": "Typed B"},
    ]
    response = signed_in(client, therapist).post(url(course, "contract"), contract_data(goals, **change))
    assert response.status_code == 200
    assert field_errors(response, field) == [error]
    assert response.context["formset"].forms[1]["text"].value() == "Typed B"
    assert not Goal.objects.exists()


def test_goal_text_is_required_once_a_row_is_touched(client, therapist, course, two_areas):
    goals = [
        {"focus": str(two_areas[0].pk), "text": "A"},
        {"focus": str(two_areas[1].pk), "text": "", "visible_to_patient": ""},
    ]
    # Untouched rows keep "show on portal" ticked; unticking it is a change, so the row needs its text.
    response = signed_in(client, therapist).post(url(course, "contract"), contract_data(goals))
    assert response.context["formset"].forms[1].errors["text"] == ["This field is required."]


def test_editing_the_contract_keeps_existing_goals(client, therapist, course, two_areas):
    dispute, transition = two_areas
    kept = factories.GoalFactory(focus=dispute, text="Talk to Sam")
    edited = factories.GoalFactory(focus=transition, text="Old wording")
    response = signed_in(client, therapist).get(url(course, "contract"))
    assert len(response.context["formset"].forms) == 3  # two goals and one spare row
    goals = [
        {"id": str(kept.pk), "focus": str(dispute.pk), "text": "Talk to Sam", "visible_to_patient": "on"},
        {
            "id": str(edited.pk),
            "focus": str(transition.pk),
            "text": "New wording",
            "visible_to_patient": "on",
        },
        {"focus": str(dispute.pk), "text": "", "visible_to_patient": "on"},
    ]
    response = client.post(url(course, "contract"), contract_data(goals, initial=2))
    assert response.status_code == 302
    assert set(Goal.objects.values_list("pk", "text")) == {
        (kept.pk, "Talk to Sam"),
        (edited.pk, "New wording"),
    }


def test_deleting_an_unreviewed_goal(client, therapist, course, two_areas):
    dispute, transition = two_areas
    keep = factories.GoalFactory(focus=dispute)
    extra = factories.GoalFactory(focus=dispute, text="Second goal")
    other = factories.GoalFactory(focus=transition)
    goals = [
        {"id": str(g.pk), "focus": str(g.focus_id), "text": g.text, "visible_to_patient": "on"}
        for g in (keep, extra, other)
    ]
    goals[1]["DELETE"] = "on"
    response = signed_in(client, therapist).post(url(course, "contract"), contract_data(goals, initial=3))
    assert response.status_code == 302
    assert set(Goal.objects.values_list("pk", flat=True)) == {keep.pk, other.pk}
    assert AuditEvent.objects.filter(action="delete", object_type="Goal").count() == 1


def test_deleting_a_reviewed_goal_is_refused(client, therapist, course, two_areas):
    dispute, transition = two_areas
    reviewed = factories.GoalFactory(focus=dispute)
    factories.GoalReviewFactory(goal=reviewed)
    other = factories.GoalFactory(focus=transition)
    goals = [
        {"id": str(g.pk), "focus": str(g.focus_id), "text": g.text, "visible_to_patient": "on"}
        for g in (reviewed, other)
    ]
    goals[0]["DELETE"] = "on"
    response = signed_in(client, therapist).post(url(course, "contract"), contract_data(goals, initial=2))
    assert response.status_code == 200
    assert (
        "has been reviewed, so it cannot be deleted"
        in response.context["formset"].forms[0].non_field_errors()[0]
    )
    assert Goal.objects.count() == 2


def test_a_goal_of_another_course_cannot_be_edited(client, therapist, course, two_areas, other_course):
    foreign = factories.GoalFactory(
        focus=factories.ProblemAreaFocusFactory(course=other_course), text="Foreign"
    )
    goals = [
        {"id": str(foreign.pk), "focus": str(two_areas[0].pk), "text": "Hijacked"},
        {"focus": str(two_areas[1].pk), "text": "B"},
    ]
    response = signed_in(client, therapist).post(url(course, "contract"), contract_data(goals, initial=1))
    assert response.status_code == 200
    assert "no longer part of the course" in response.context["formset"].non_form_errors()[0]
    foreign.refresh_from_db()
    assert foreign.text == "Foreign"
    assert Goal.objects.count() == 1


def test_a_focus_of_another_course_cannot_be_chosen_for_a_goal(
    client, therapist, course, two_areas, other_course
):
    foreign_focus = factories.ProblemAreaFocusFactory(course=other_course)
    goals = [{"focus": str(foreign_focus.pk), "text": "A"}, {"focus": str(two_areas[1].pk), "text": "B"}]
    response = signed_in(client, therapist).post(url(course, "contract"), contract_data(goals))
    assert response.context["formset"].forms[0].errors["focus"]
    assert not Goal.objects.exists()


def test_planned_sessions_are_fixed_once_the_middle_phase_started(client, therapist, course, two_areas):
    course.middle_phase_started_on = dt.date(2026, 9, 20)
    course.save()
    goals = [{"focus": str(two_areas[0].pk), "text": "A"}, {"focus": str(two_areas[1].pk), "text": "B"}]
    response = signed_in(client, therapist).post(
        url(course, "contract"), contract_data(goals, planned_sessions="16")
    )
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.planned_sessions == 12  # a disabled field ignores what is posted
    assert "revise the contract" in client.get(url(course, "contract")).content.decode()


# --- The whole stepper: the course moves to the middle phase --------------------------------------


def test_completing_every_step_moves_the_course_to_the_middle_phase(client, therapist, course):
    signed_in(client, therapist)
    client.post(url(course, "symptoms"), phq9_data(medication_reviewed_on="2026-09-01"))
    client.post(url(course, "psychoeducation"), {"psychoeducation_on": "2026-09-01"})
    client.post(url(course, "inventory"), person_data())
    sam = RelationshipEntry.objects.get()
    client.post(
        url(course, "problem-areas"),
        areas_data({"area": "role_dispute", "dispute_stage": "renegotiation", "person": str(sam.pk)}),
    )
    client.post(
        url(course, "formulation"),
        {"formulation": "F", "formulation_shared_on": "2026-09-08", "formulation_agreed": "on"},
    )
    course.refresh_from_db()
    assert course.middle_phase_started_on is None  # the contract is still missing
    focus = ProblemAreaFocus.objects.get()
    response = client.post(
        url(course, "contract"),
        contract_data([{"focus": str(focus.pk), "text": "Talk with Sam"}]),
        follow=True,
    )
    assert "Every initial task is done: the course has moved to the middle phase." in messages_of(response)
    course.refresh_from_db()
    assert course.middle_phase_started_on == TODAY()
    assert course.middle_phase_override_reason == ""
    assert course.default_phase_for(2) == ipt.Phase.MIDDLE


# --- Checklist rules (sessions_app.ipt) -----------------------------------------------------------


def facts(**changes) -> ipt.InitialFacts:
    base = {
        "has_baseline_phq9": True,
        "psychoeducation_done": True,
        "medication_reviewed": True,
        "inventory_count": 2,
        "has_primary_focus": True,
        "formulation_written": True,
        "formulation_shared": True,
        "formulation_agreed": True,
        "contract_agreed": True,
        "goal_coverage": ipt.goal_coverage(["grief"], ["grief"]),
    }
    return ipt.InitialFacts(**(base | changes))


def test_initial_checklist_follows_the_phase_tasks_in_order():
    items = ipt.initial_checklist(facts())
    assert [i.task for i in items] == list(ipt.PHASE_TASKS[ipt.Phase.INITIAL])
    assert all(i.done for i in items)
    assert ipt.checklist_complete(items)


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ({"has_baseline_phq9": False}, "symptoms"),
        ({"psychoeducation_done": False}, "psychoeducation"),
        ({"medication_reviewed": False}, "medication"),
        ({"inventory_count": 0}, "inventory"),
        ({"has_primary_focus": False}, "problem_area"),
        ({"formulation_written": False}, "formulation"),
        ({"formulation_shared": False}, "formulation"),
        ({"formulation_agreed": False}, "formulation"),
        ({"contract_agreed": False}, "contract"),
        ({"goal_coverage": ipt.goal_coverage(["grief", "role_dispute"], ["grief"])}, "contract"),
        ({"goal_coverage": ipt.goal_coverage([], [])}, "contract"),
    ],
)
def test_each_missing_fact_leaves_exactly_its_task_missing(change, missing):
    items = ipt.initial_checklist(facts(**change))
    assert [i.code for i in items if not i.done] == [missing]
    assert not ipt.checklist_complete(items)


def test_goal_coverage_counts_goals_per_chosen_area():
    coverage = ipt.goal_coverage(
        ["role_dispute", "grief"], ["role_dispute", "role_dispute", "role_transition"]
    )
    assert coverage.counts == {"role_dispute": 2, "grief": 0}
    assert coverage.missing == ("grief",)
    assert not coverage.complete
    assert ipt.goal_coverage(["grief"], ["grief"]).complete
    assert not ipt.goal_coverage([], []).complete  # no area chosen: no contract yet


def test_middle_checklist_leaves_unrecorded_tasks_as_reminders():
    items = ipt.middle_checklist(
        ipt.MiddleSessionFacts(
            events_recorded=True,
            people_linked=False,
            strategies_used=True,
            techniques_used=True,
            task_set=False,
            phq9_recorded=True,
        )
    )
    assert [i.task for i in items] == list(ipt.PHASE_TASKS[ipt.Phase.MIDDLE])
    assert [i.done for i in items] == [True, False, True, True, False, True, None]
    assert not ipt.checklist_complete(items)


def test_termination_and_maintenance_checklists():
    done = ipt.TerminationFacts(True, True, True, True, True)
    assert ipt.checklist_complete(ipt.termination_checklist(done))
    partial = ipt.termination_checklist(ipt.TerminationFacts(True, False, True, False, True))
    assert [i.code for i in partial if not i.done] == ["feelings_about_ending", "relapse_plan"]
    maintenance = ipt.maintenance_checklist()
    assert [i.task for i in maintenance] == list(ipt.PHASE_TASKS[ipt.Phase.MAINTENANCE])
    assert all(i.done is None for i in maintenance)
    assert ipt.checklist_complete(maintenance)  # reminders never block


@pytest.mark.parametrize(
    ("last", "closed", "phase"),
    [
        (None, False, ipt.Phase.INITIAL),
        (None, True, ipt.Phase.MIDDLE),
        ("initial", False, ipt.Phase.INITIAL),
        ("initial", True, ipt.Phase.MIDDLE),
        ("middle", False, ipt.Phase.MIDDLE),
        ("termination", True, ipt.Phase.TERMINATION),
        ("maintenance", True, ipt.Phase.MAINTENANCE),
    ],
)
def test_current_phase(last, closed, phase):
    assert ipt.current_phase(last, initial_closed=closed) == phase


def test_every_initial_task_has_a_step():
    assert set(STEP_FOR_TASK) == set(ipt.INITIAL_TASK_CODES)


def test_load_initial_facts_reads_the_course(course):
    assert not ipt.checklist_complete(ipt.initial_checklist(course_services.load_initial_facts(course)))
    focus = factories.RoleDisputeFocusFactory(course=course)
    factories.GoalFactory(focus=focus)
    factories.GoalFactory(
        focus=factories.ProblemAreaFocusFactory(course=course, is_primary=False), status="dropped"
    )
    loaded = course_services.load_initial_facts(course)
    assert loaded.has_primary_focus
    # A dropped goal does not cover its area.
    assert loaded.goal_coverage.counts == {"role_dispute": 1, "role_transition": 0}
