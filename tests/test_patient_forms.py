"""Add a patient (/patients/new/) and start a course (/patients/<id>/courses/new/).

Adding is for therapists only: the patient joins the signed-in therapist's
caseload and clinic, whatever the form says. Starting a course is for the
patient's treating therapist only (clinic admins and patients 403, anyone
out of scope 404), and only when no course of the patient is active.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from sessions_app.forms.patients import MAX_AGE_YEARS, CourseStartForm, PatientForm
from sessions_app.models import AuditEvent, Course, Patient
from sessions_app.services import patients as patient_services
from tests import factories

pytestmark = pytest.mark.django_db

CREATE_URL = reverse("patient-create")


def today() -> dt.date:
    return timezone.localdate()


def signed_in(client, user):
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def start_url(patient) -> str:
    return reverse("course-start", kwargs={"public_id": patient.public_id})


def field_errors(response, name: str) -> list[str]:
    return response.context["form"].errors.get(name, [])


VALID_PATIENT = {
    "given_name": "  Mary ",
    "family_name": "Somerville",
    "date_of_birth": "1980-12-26",
    "conditions": ["depression", "anxiety"],
    "conditions_other": "",
    "medication": "Sertraline 100 mg",
    "presenting_concerns": "Low mood since moving city.",
}


def valid_course(**changes) -> dict:
    data = {
        "format": "individual",
        "planned_sessions": "14",
        "frequency": "weekly",
        "start_date": today().isoformat(),
    }
    return {**data, **changes}


# Add a patient: happy path -----------------------------------------------------------------------------


def test_the_form_opens_for_a_therapist(client, therapist):
    response = signed_in(client, therapist).get(CREATE_URL)
    assert response.status_code == 200
    html = response.content.decode()
    for label in ("Given name", "Family name", "Date of birth", "Depression", "PTSD", "Other condition"):
        assert label in html
    assert 'type="date"' in html


def test_adding_a_patient_puts_them_on_my_caseload_and_goes_on_to_the_course(
    client, therapist, other_therapist
):
    # A smuggled therapist or clinic field is ignored: the signed-in therapist takes the patient.
    data = {**VALID_PATIENT, "therapist": other_therapist.pk, "clinic": factories.ClinicFactory().pk}
    response = signed_in(client, therapist).post(CREATE_URL, data, follow=True)

    patient = Patient.objects.get(family_name="Somerville")
    assert response.redirect_chain == [(start_url(patient), 302)]
    assert (patient.therapist, patient.clinic) == (therapist, therapist.clinic)
    assert patient.given_name == "Mary"  # trimmed
    assert patient.date_of_birth == dt.date(1980, 12, 26)
    assert patient.conditions == ["depression", "anxiety"]
    assert patient.medication == "Sertraline 100 mg"
    assert patient.presenting_concerns == "Low mood since moving city."
    assert messages_of(response) == ["Mary Somerville added. Now set up their IPT course."]
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREATE)
    assert (event.object_type, event.patient_public_id, event.user) == (
        "Patient",
        patient.public_id,
        therapist,
    )


def test_naming_another_condition_ticks_other(client, therapist):
    data = {**VALID_PATIENT, "conditions": ["depression"], "conditions_other": "Insomnia"}
    signed_in(client, therapist).post(CREATE_URL, data)
    patient = Patient.objects.get()
    assert patient.conditions == ["depression", "other"]
    assert patient.conditions_other == "Insomnia"


def test_conditions_may_be_left_empty(client, therapist):
    data = {**VALID_PATIENT}
    del data["conditions"]
    assert signed_in(client, therapist).post(CREATE_URL, data).status_code == 302
    assert Patient.objects.get().conditions == []


# Add a patient: errors at the field, everything typed kept ---------------------------------------------


def born(days_from_today: int) -> str:
    return (today() + dt.timedelta(days=days_from_today)).isoformat()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"given_name": ""}, "given_name", "This field is required."),
        ({"given_name": "   "}, "given_name", "This field is required."),
        ({"family_name": ""}, "family_name", "This field is required."),
        ({"family_name": "x" * 101}, "family_name", "at most 100 characters"),
        ({"date_of_birth": ""}, "date_of_birth", "This field is required."),
        ({"date_of_birth": "26/13/1980"}, "date_of_birth", "Enter a valid date."),
        ({"date_of_birth": born(1)}, "date_of_birth", "The date of birth is in the future."),
        ({"date_of_birth": "1890-01-01"}, "date_of_birth", f"over {MAX_AGE_YEARS}: check the year"),
        ({"conditions": ["depression", "lycanthropy"]}, "conditions", "Select a valid choice."),
        ({"conditions": ["other"], "conditions_other": " "}, "conditions_other", "Name the other condition."),
        ({"conditions_other": "y" * 201}, "conditions_other", "at most 200 characters"),
    ],
)
def test_bad_input_is_an_error_at_the_field_and_keeps_what_was_typed(
    client, therapist, changes, field, message
):
    data = {**VALID_PATIENT, "medication": "Typed medication", **changes}
    response = signed_in(client, therapist).post(CREATE_URL, data)

    assert response.status_code == 200
    assert any(message in error for error in field_errors(response, field)), field_errors(response, field)
    assert not Patient.objects.exists()
    html = response.content.decode()
    assert "is-invalid" in html
    assert "Typed medication" in html
    assert response.context["form"][field].value() == data[field]
    if field != "family_name":
        assert 'value="Somerville"' in html
    if "depression" in data["conditions"]:  # the ticked boxes stay ticked
        assert re.search(r'value="depression"[^>]*checked|checked[^>]*value="depression"', html)


def test_today_is_an_acceptable_date_of_birth_and_the_oldest_year_too(client, therapist):
    oldest = dt.date(today().year - MAX_AGE_YEARS, 1, 1)
    for value in (today(), oldest):
        form = PatientForm(data={**VALID_PATIENT, "date_of_birth": value.isoformat()})
        assert form.is_valid(), form.errors
    form = PatientForm(data={**VALID_PATIENT, "date_of_birth": (oldest - dt.timedelta(days=1)).isoformat()})
    assert "date_of_birth" in form.errors


# Add a patient: who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["clinic_admin", "patient_user"])
def test_clinic_admins_and_patients_cannot_add_patients(client, request, persona):
    signed_in(client, request.getfixturevalue(persona))
    assert client.get(CREATE_URL).status_code == 403
    assert client.post(CREATE_URL, VALID_PATIENT).status_code == 403
    assert not Patient.objects.exists()


def test_anonymous_is_sent_to_login_when_adding(client):
    for response in (client.get(CREATE_URL), client.post(CREATE_URL, VALID_PATIENT)):
        assert response.status_code == 302
        assert response.url == f"{reverse('login')}?next={CREATE_URL}"
    assert not Patient.objects.exists()


def test_adding_a_patient_is_get_or_post_only(client, therapist):
    assert signed_in(client, therapist).put(CREATE_URL).status_code == 405


def test_patient_create_service_refuses_a_non_therapist(clinic_admin):
    with pytest.raises(ValidationError):
        patient_services.patient_create(
            therapist=clinic_admin,
            given_name="A",
            family_name="B",
            date_of_birth=dt.date(1990, 1, 1),
            conditions=[],
        )
    assert not Patient.objects.exists()


# Start a course: happy path ----------------------------------------------------------------------------


def test_the_course_form_opens_for_the_treating_therapist_and_is_audited(client, therapist, patient):
    response = signed_in(client, therapist).get(start_url(patient))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Start an IPT course for Ada Lovelace" in html
    for n in range(12, 17):
        assert f'<option value="{n}"' in html
    assert '<option value="11"' not in html and '<option value="17"' not in html
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW)
    assert event.patient_public_id == patient.public_id


def test_starting_a_course_goes_to_the_course_page(client, therapist, patient):
    response = signed_in(client, therapist).post(
        start_url(patient), valid_course(frequency="fortnightly", start_date=born(7)), follow=True
    )
    course = Course.objects.get()
    assert response.redirect_chain == [
        (reverse("course-detail", kwargs={"public_id": course.public_id}), 302)
    ]
    assert (course.patient, course.therapist, course.status) == (patient, therapist, Course.Status.ACTIVE)
    assert (course.format, course.planned_sessions, course.frequency) == ("individual", 14, "fortnightly")
    assert course.start_date == today() + dt.timedelta(days=7)
    assert messages_of(response)[0].startswith("IPT course started: 14 sessions from")
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREATE)
    assert (event.object_type, event.object_id) == ("Course", str(course.public_id))


def test_adding_a_patient_then_starting_their_course(client, therapist):
    signed_in(client, therapist)
    patient_page = client.post(CREATE_URL, VALID_PATIENT).url
    response = client.post(patient_page, valid_course())
    assert response.status_code == 302
    assert Course.objects.get().patient.family_name == "Somerville"


def test_a_new_course_may_follow_a_completed_or_discontinued_one(client, therapist, patient):
    factories.CompletedCourseFactory(patient=patient, start_date=today() - dt.timedelta(days=300))
    factories.DiscontinuedCourseFactory(patient=patient, start_date=today() - dt.timedelta(days=100))
    assert signed_in(client, therapist).post(start_url(patient), valid_course()).status_code == 302
    assert patient.courses.filter(status=Course.Status.ACTIVE).count() == 1


# Start a course: errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"planned_sessions": "11"}, "planned_sessions", "Select a valid choice."),
        ({"planned_sessions": "17"}, "planned_sessions", "Select a valid choice."),
        ({"planned_sessions": "twelve"}, "planned_sessions", "Select a valid choice."),
        ({"planned_sessions": ""}, "planned_sessions", "This field is required."),
        ({"frequency": "hourly"}, "frequency", "Select a valid choice."),
        ({"format": "group"}, "format", "Select a valid choice."),
        ({"start_date": ""}, "start_date", "This field is required."),
        ({"start_date": "2026-02-30"}, "start_date", "Enter a valid date."),
        ({"start_date": born(91)}, "start_date", "at most 90 days ahead"),
        ({"start_date": born(-366)}, "start_date", "more than a year after it started"),
    ],
)
def test_bad_course_input_is_an_error_at_the_field_and_keeps_what_was_typed(
    client, therapist, patient, changes, field, message
):
    data = valid_course(**{"frequency": "twice_weekly", **changes})
    response = signed_in(client, therapist).post(start_url(patient), data)

    assert response.status_code == 200
    assert any(message in error for error in field_errors(response, field)), field_errors(response, field)
    assert not Course.objects.exists()
    form = response.context["form"]
    assert form["frequency"].value() == "twice_weekly" or field == "frequency"
    assert form[field].value() == data[field]
    assert "is-invalid" in response.content.decode()


def test_the_limits_of_the_start_date_are_accepted(patient):
    for days in (90, -365):
        form = CourseStartForm(data=valid_course(start_date=born(days)), patient=patient)
        assert form.is_valid(), form.errors


def test_a_course_cannot_start_before_the_patient_was_born(patient):
    patient.date_of_birth = today() - dt.timedelta(days=10)
    form = CourseStartForm(data=valid_course(start_date=born(-20)), patient=patient)
    assert "cannot start before the patient was born" in str(form.errors["start_date"])


def test_an_active_course_refuses_a_second_one_with_a_form_error(client, therapist, patient, course):
    signed_in(client, therapist)
    page = client.get(start_url(patient))
    assert "already has an active course" in page.content.decode()
    assert reverse("course-detail", kwargs={"public_id": course.public_id}) in page.content.decode()

    response = client.post(start_url(patient), valid_course(planned_sessions="16"))

    assert response.status_code == 200
    assert "already has an active course" in " ".join(response.context["form"].non_field_errors())
    assert response.context["form"]["planned_sessions"].value() == "16"
    assert Course.objects.count() == 1


def test_the_service_refuses_a_second_active_course_too(patient, course):
    # The form checks first; the service checks again under a lock, for a race between two tabs.
    with pytest.raises(patient_services.ActiveCourseExists):
        patient_services.course_start(
            patient=patient, format="individual", planned_sessions=12, frequency="weekly", start_date=today()
        )
    assert Course.objects.count() == 1


def test_an_archived_patient_cannot_start_a_course(client, therapist, patient):
    Patient.objects.filter(pk=patient.pk).update(archived_at=timezone.now())
    response = signed_in(client, therapist).post(start_url(patient), valid_course())
    assert response.status_code == 200
    assert "archived" in " ".join(response.context["form"].non_field_errors())
    assert not Course.objects.exists()


def test_a_service_refusal_after_the_form_passed_is_shown_on_the_form(
    client, therapist, patient, monkeypatch
):
    def refuse(**kwargs):
        raise patient_services.ActiveCourseExists()

    monkeypatch.setattr(patient_services, "course_start", refuse)
    response = signed_in(client, therapist).post(start_url(patient), valid_course())
    assert response.status_code == 200
    assert "already has an active course" in " ".join(response.context["form"].non_field_errors())


# Start a course: who may -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [("clinic_admin", 403), ("patient_user", 403), ("other_therapist", 404), ("other_clinic_admin", 404)],
)
def test_only_the_treating_therapist_starts_a_course(client, request, patient, persona, status):
    signed_in(client, request.getfixturevalue(persona))
    assert client.get(start_url(patient)).status_code == status
    assert client.post(start_url(patient), valid_course()).status_code == status
    assert not Course.objects.exists()


def test_another_therapists_patient_is_404_for_me(client, therapist, other_patient):
    signed_in(client, therapist)
    assert client.get(start_url(other_patient)).status_code == 404
    assert client.post(start_url(other_patient), valid_course()).status_code == 404
    assert not Course.objects.exists()


@pytest.mark.parametrize("tail", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_or_malformed_patient_ids_are_404(client, therapist, tail):
    assert signed_in(client, therapist).get(f"/patients/{tail}/courses/new/").status_code == 404


def test_anonymous_is_sent_to_login_when_starting_a_course(client, patient):
    url = start_url(patient)
    for response in (client.get(url), client.post(url, valid_course())):
        assert response.status_code == 302
        assert response.url == f"{reverse('login')}?next={url}"
    assert not Course.objects.exists()


# --- The patient page offers the next step ---------------------------------------------------------------


def test_patient_page_offers_to_start_a_course_to_the_treating_therapist(client, therapist, patient):
    client.force_login(therapist)
    body = client.get(reverse("patient-detail", kwargs={"public_id": patient.public_id})).content.decode()
    assert reverse("course-start", kwargs={"public_id": patient.public_id}) in body


def test_patient_page_does_not_offer_a_second_active_course(client, therapist, patient):
    factories.CourseFactory(patient=patient)
    client.force_login(therapist)
    body = client.get(reverse("patient-detail", kwargs={"public_id": patient.public_id})).content.decode()
    assert reverse("course-start", kwargs={"public_id": patient.public_id}) not in body


def test_patient_page_does_not_offer_a_course_to_a_clinic_admin(client, clinic_admin, patient):
    client.force_login(clinic_admin)
    body = client.get(reverse("patient-detail", kwargs={"public_id": patient.public_id})).content.decode()
    assert reverse("course-start", kwargs={"public_id": patient.public_id}) not in body
