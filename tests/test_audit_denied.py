"""Denied access is audited, and the row survives the request's transaction.

A 404 for an out-of-scope (or missing) record and a 403 for the wrong role
each leave exactly one DENIED row naming who asked for what. The row is
written by `audit_middleware` after the view has finished, so even with
`ATOMIC_REQUESTS` on (the view's transaction rolled back by the raised
`Http404`/`PermissionDenied`) it stays: the trap in reference/security.md.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection, transaction
from django.http import Http404
from django.test import Client
from django.urls import reverse

from sessions_app import audit
from sessions_app.models import AuditEvent

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def denied_rows() -> list[tuple]:
    return list(
        AuditEvent.objects.filter(action=AuditEvent.Action.DENIED).values_list(
            "username", "role", "object_type", "object_id", "path"
        )
    )


def test_an_out_of_scope_patient_is_a_404_with_a_denied_row(therapist, other_patient):
    url = reverse("patient-detail", kwargs={"public_id": other_patient.public_id})
    response = signed_in(therapist).get(url)
    assert response.status_code == 404
    assert denied_rows() == [("therapist", "therapist", "Patient", str(other_patient.public_id), url)]
    # Nothing about the patient leaks into the trail beyond the id that was typed.
    event = AuditEvent.objects.get(action=AuditEvent.Action.DENIED)
    assert event.patient_public_id is None and event.clinic_id == therapist.clinic_id


def test_another_clinics_admin_gets_a_404_and_a_denied_row(other_clinic_admin, course):
    url = reverse("course-detail", kwargs={"public_id": course.public_id})
    assert signed_in(other_clinic_admin).get(url).status_code == 404
    assert denied_rows() == [("other-clinic-admin", "clinic_admin", "Course", str(course.public_id), url)]


def test_a_missing_record_looks_the_same_as_a_foreign_one(therapist):
    missing = uuid.uuid4()
    url = reverse("course-detail", kwargs={"public_id": missing})
    assert signed_in(therapist).get(url).status_code == 404
    assert denied_rows() == [("therapist", "therapist", "Course", str(missing), url)]


def test_the_wrong_role_is_a_403_with_a_denied_row(patient_user, patient):
    url = reverse("patient-detail", kwargs={"public_id": patient.public_id})
    assert signed_in(patient_user).get(url).status_code == 403
    assert denied_rows() == [("patient", "patient", "", "", url)]


def test_a_write_by_a_non_treating_user_is_a_403_with_a_denied_row(clinic_admin, course):
    url = reverse("course-discontinue", kwargs={"public_id": course.public_id})
    response = signed_in(clinic_admin).post(url, {"end_date": "2026-11-20", "end_reason": "x"})
    assert response.status_code == 403
    assert denied_rows() == [("clinic-admin", "clinic_admin", "", "", url)]


def test_portal_pages_deny_staff_with_a_row(therapist):
    url = reverse("portal-home")
    assert signed_in(therapist).get(url).status_code == 403
    assert [row[-1] for row in denied_rows()] == [url]


def test_unknown_urls_and_anonymous_visitors_leave_no_denied_row(client, other_patient):
    """A typo is not an attempt on a record, and anonymous visitors are sent to sign in."""
    client.get(reverse("patient-detail", kwargs={"public_id": other_patient.public_id}))
    assert signed_in(other_patient.portal_user).get("/no-such-page/").status_code == 404
    assert denied_rows() == []


def test_allowed_pages_write_no_denied_row(therapist, patient):
    signed_in(therapist).get(reverse("patient-detail", kwargs={"public_id": patient.public_id}))
    assert denied_rows() == []


# --- The transaction trap ----------------------------------------------------------------------


@pytest.fixture
def atomic_requests(monkeypatch):
    """Every view in a transaction, as with ATOMIC_REQUESTS=True (read per request by Django)."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)


def test_a_row_written_inside_a_rolled_back_request_is_lost(therapist, rf):
    """Why the denied row is written outside the view: this is what happens to one written inside."""
    request = rf.get("/")
    request.user = therapist
    with pytest.raises(Http404), transaction.atomic():
        audit.record(request, AuditEvent.Action.DENIED)
        raise Http404
    assert denied_rows() == []


@pytest.mark.parametrize("persona", ["other_clinic_admin", "therapist"])
def test_denied_rows_survive_atomic_requests(request, atomic_requests, persona, other_patient):
    user = request.getfixturevalue(persona)
    url = reverse("patient-detail", kwargs={"public_id": other_patient.public_id})
    assert signed_in(user).get(url).status_code == 404
    assert len(denied_rows()) == 1


def test_denied_403_rows_survive_atomic_requests(atomic_requests, clinic_admin, course):
    url = reverse("course-complete", kwargs={"public_id": course.public_id})
    assert signed_in(clinic_admin).post(url, {}).status_code == 403
    assert len(denied_rows()) == 1


@pytest.mark.django_db(transaction=True)
def test_denied_rows_are_committed_with_real_transactions(atomic_requests, therapist, other_patient):
    """No test transaction around the request: the view's own transaction really rolls back
    (on PostgreSQL too, when DATABASE_URL points there), and the row is still there."""
    url = reverse("patient-detail", kwargs={"public_id": other_patient.public_id})
    assert signed_in(therapist).get(url).status_code == 404
    assert len(denied_rows()) == 1
