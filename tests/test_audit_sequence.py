"""A scripted sequence of real requests leaves exactly the expected audit trail.

Sign in, view a patient, edit their course, try another therapist's patient,
sign out, fail a sign-in; then the clinic admin signs in and exports the
log. Every step through the real sign-in form and views, on whichever
database DATABASE_URL names (CI runs it on SQLite and PostgreSQL). Also:
no clinical text ever reaches an audit row.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from sessions_app.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

A = AuditEvent.Action


def sign_in(client: Client, username: str, password: str = PASSWORD) -> None:
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 302, "sign-in failed"


def trail() -> list[tuple]:
    return list(
        AuditEvent.objects.order_by("id").values_list(
            "username", "role", "action", "object_type", "object_id", "patient_public_id", "path"
        )
    )


def test_the_scripted_sequence_leaves_exactly_these_rows(
    therapist, clinic_admin, patient, course, other_patient
):
    therapist_client, admin_client, stranger = Client(), Client(), Client()
    patient_url = reverse("patient-detail", kwargs={"public_id": patient.public_id})
    edit_url = reverse("course-middle-phase", kwargs={"public_id": course.public_id})
    foreign_url = reverse("patient-detail", kwargs={"public_id": other_patient.public_id})
    export_url = reverse("clinic-audit-export")

    sign_in(therapist_client, "therapist")
    assert therapist_client.get(patient_url).status_code == 200
    assert therapist_client.post(edit_url, {"reason": "Patient wants to start the work"}).status_code == 302
    assert therapist_client.get(foreign_url).status_code == 404
    assert therapist_client.post(reverse("logout")).status_code == 302
    assert stranger.post(reverse("login"), {"username": "therapist", "password": "not-it"}).status_code == 200
    sign_in(admin_client, "clinic-admin")
    export = admin_client.get(export_url)
    assert export.status_code == 200
    b"".join(export.streaming_content)

    p, c, o = patient.public_id, course.public_id, other_patient.public_id
    assert trail() == [
        ("therapist", "therapist", A.LOGIN, "", "", None, "/login/"),
        ("therapist", "therapist", A.VIEW, "Patient", str(p), p, patient_url),
        ("therapist", "therapist", A.UPDATE, "Course", str(c), p, edit_url),
        ("therapist", "therapist", A.DENIED, "Patient", str(o), None, foreign_url),
        ("therapist", "therapist", A.LOGOUT, "", "", None, "/logout/"),
        ("therapist", "", A.LOGIN_FAILED, "", "", None, "/login/"),
        ("clinic-admin", "clinic_admin", A.LOGIN, "", "", None, "/login/"),
        # The exported log names the patient, so the export counts as an access to their record.
        ("clinic-admin", "clinic_admin", A.EXPORT, "AuditEvent", "", p, export_url),
    ]
    # Every row records where it came from, and the clinic it belongs to.
    assert set(AuditEvent.objects.values_list("ip", flat=True)) == {"127.0.0.1"}
    assert set(AuditEvent.objects.values_list("clinic_id", flat=True)) == {therapist.clinic_id}


def test_no_clinical_text_reaches_the_trail(therapist, patient, course):
    """Names, notes and answers stay out: rows hold ids, actions and paths only."""
    course.formulation = "SECRET-FORMULATION"
    course.save()
    client = Client()
    sign_in(client, "therapist")
    client.get(reverse("course-detail", kwargs={"public_id": course.public_id}))
    client.get(reverse("patient-detail", kwargs={"public_id": patient.public_id}))
    text = repr(trail())
    for clinical in ("SECRET-FORMULATION", patient.given_name, patient.family_name, patient.medication):
        assert clinical not in text
