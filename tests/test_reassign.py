"""Reassigning a patient to another therapist of the clinic, with a reason.

Rules under test: only the clinic admin reassigns (therapists and patients
403, another clinic's admin 404); the choices are the clinic's active
therapists other than the current one, and anything else posted (another
clinic's therapist, a deactivated one, the current one, junk) is a form error,
never a 500; the reason is required; the patient and their active course move,
finished courses keep their therapist; a `Reassignment` row and audit rows
record it; the course page shows it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from sessions_app.models import AuditEvent, Reassignment
from tests import factories

pytestmark = pytest.mark.django_db

REASON = "Ada asked for a therapist closer to her new job."


def signed_in(client, user):
    client.force_login(user)
    return client


def url(patient) -> str:
    return reverse("patient-reassign", args=[patient.public_id])


@pytest.fixture
def finished_course(patient):
    return factories.CompletedCourseFactory(patient=patient, start_date=dt.date(2025, 1, 6))


def test_the_admin_reassigns_a_patient_and_their_active_course(
    client, clinic_admin, therapist, other_therapist, patient, course, finished_course
):
    signed_in(client, clinic_admin)
    page = client.get(url(patient))
    assert page.status_code == 200
    assert list(page.context["form"].fields["to_therapist"].queryset) == [other_therapist]

    response = client.post(url(patient), {"to_therapist": other_therapist.public_id, "reason": REASON})
    assert response.status_code == 302
    assert response.url == reverse("clinic-course-summary", args=[course.public_id])

    patient.refresh_from_db()
    course.refresh_from_db()
    finished_course.refresh_from_db()
    assert patient.therapist == other_therapist
    assert course.therapist == other_therapist
    assert finished_course.therapist == therapist  # history keeps who ran it

    row = Reassignment.objects.get()
    assert (row.patient, row.course, row.from_therapist, row.to_therapist, row.reassigned_by) == (
        patient,
        course,
        therapist,
        other_therapist,
        clinic_admin,
    )
    assert row.reason == REASON
    assert set(
        AuditEvent.objects.filter(user=clinic_admin, patient_public_id=patient.public_id)
        .exclude(action=AuditEvent.Action.VIEW)
        .values_list("action", "object_type", "object_id")
    ) == {
        (AuditEvent.Action.CREATE, "Reassignment", str(row.public_id)),
        (AuditEvent.Action.UPDATE, "Patient", str(patient.public_id)),
    }


def test_the_course_page_and_summary_show_the_reassignment(
    client, clinic_admin, therapist, other_therapist, patient, course
):
    signed_in(client, clinic_admin).post(
        url(patient), {"to_therapist": other_therapist.public_id, "reason": REASON}
    )
    note = (
        f"Reassigned from {therapist.display_name} to {other_therapist.display_name} "
        f"on {timezone.localdate():%-d %b %Y}"
    )
    for viewer, page in (
        (other_therapist, course.get_absolute_url()),
        (clinic_admin, course.get_absolute_url()),
        (clinic_admin, reverse("clinic-course-summary", args=[course.public_id])),
    ):
        html = signed_in(client, viewer).get(page).content.decode()
        assert escape(note) in html, (viewer, page)
        assert escape(REASON) in html, (viewer, page)


def test_the_new_therapist_takes_over_and_the_old_one_loses_access(
    client, clinic_admin, therapist, other_therapist, patient, course
):
    signed_in(client, clinic_admin).post(
        url(patient), {"to_therapist": other_therapist.public_id, "reason": REASON}
    )
    assert signed_in(client, therapist).get(course.get_absolute_url()).status_code == 404
    assert signed_in(client, other_therapist).get(course.get_absolute_url()).status_code == 200


def test_a_patient_without_an_active_course_goes_back_to_their_page(
    client, clinic_admin, other_therapist, patient, finished_course
):
    response = signed_in(client, clinic_admin).post(
        url(patient), {"to_therapist": other_therapist.public_id, "reason": REASON}
    )
    assert response.url == patient.get_absolute_url()
    assert Reassignment.objects.get().course is None


# --- Bad input ------------------------------------------------------------------------------------------


def _bad_choices(clinic, other_clinic, therapist):
    return {
        "another clinic's therapist": factories.TherapistFactory(clinic=other_clinic).public_id,
        "a deactivated therapist": factories.TherapistFactory(clinic=clinic, is_active=False).public_id,
        "the current therapist": therapist.public_id,
        "a clinic admin": factories.ClinicAdminFactory(clinic=clinic).public_id,
        "junk": "not-a-uuid",
        "an unknown id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    }


@pytest.mark.parametrize(
    "case",
    [
        "another clinic's therapist",
        "a deactivated therapist",
        "the current therapist",
        "a clinic admin",
        "junk",
        "an unknown id",
    ],
)
def test_a_therapist_outside_the_choices_is_a_form_error(
    client, clinic, other_clinic, clinic_admin, therapist, other_therapist, patient, course, case
):
    choice = _bad_choices(clinic, other_clinic, therapist)[case]
    response = signed_in(client, clinic_admin).post(url(patient), {"to_therapist": choice, "reason": REASON})
    assert response.status_code == 200
    assert response.context["form"].errors["to_therapist"] == [
        "Choose one of the active therapists of this clinic listed here."
    ]
    assert escape(REASON) in response.content.decode()  # nothing typed is lost
    patient.refresh_from_db()
    assert patient.therapist == therapist and not Reassignment.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"reason": REASON}, "to_therapist", "This field is required."),
        ({"reason": "   "}, "reason", "Say why the patient moves to another therapist."),
        ({"reason": ""}, "reason", "Say why the patient moves to another therapist."),
        ({"reason": "x" * 2001}, "reason", "at most 2000 characters"),
    ],
)
def test_missing_or_bad_fields_are_form_errors(
    client, clinic_admin, therapist, other_therapist, patient, data, field, message
):
    if field != "to_therapist":
        data = {**data, "to_therapist": other_therapist.public_id}
    response = signed_in(client, clinic_admin).post(url(patient), data)
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    patient.refresh_from_db()
    assert patient.therapist == therapist and not Reassignment.objects.exists()


def test_with_no_other_active_therapist_the_page_says_so(client, clinic_admin, patient, other_therapist):
    other_therapist.is_active = False
    other_therapist.save()
    html = signed_in(client, clinic_admin).get(url(patient)).content.decode()
    assert "no other active therapist" in html and "<form" not in html.split('id="main"')[1]


def test_unsigned_notes_are_pointed_out(client, clinic_admin, patient, course):
    factories.TherapySessionFactory(course=course, number=1)
    html = signed_in(client, clinic_admin).get(url(patient)).content.decode()
    assert "1 session note of the active course is not signed yet" in html


# --- Who may do it --------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["therapist", "other_therapist", "patient_user"])
def test_other_roles_get_403(client, request, persona, other_therapist, patient):
    signed_in(client, request.getfixturevalue(persona))
    assert client.get(url(patient)).status_code == 403
    response = client.post(url(patient), {"to_therapist": other_therapist.public_id, "reason": REASON})
    assert response.status_code == 403
    assert not Reassignment.objects.exists()


def test_another_clinics_admin_gets_404(client, other_clinic_admin, other_therapist, patient):
    signed_in(client, other_clinic_admin)
    assert client.get(url(patient)).status_code == 404
    response = client.post(url(patient), {"to_therapist": other_therapist.public_id, "reason": REASON})
    assert response.status_code == 404
    assert not Reassignment.objects.exists()


def test_anonymous_is_sent_to_sign_in(client, patient):
    response = client.get(url(patient))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
