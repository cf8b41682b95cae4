"""Scope of the access functions added for running the clinic, for every persona.

* `staff_for`: a clinic admin's own clinic's therapists and admins (active or
  not); nobody else manages staff, so everyone else gets nothing;
* `reassignments_for`: scoped like the patient (therapist: own patients,
  admin: the clinic), never on the portal;
* `require_portal_account_manager`: the clinic admin or the treating therapist.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from sessions_app import access
from sessions_app.models import User
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def graph(
    clinic,
    other_clinic,
    therapist,
    other_therapist,
    clinic_admin,
    other_clinic_admin,
    patient,
    other_patient,
    course,
    other_course,
    patient_user,
):
    foreign_therapist = factories.TherapistFactory(clinic=other_clinic, username="foreign-therapist")
    gone = factories.TherapistFactory(clinic=clinic, username="gone", is_active=False)
    foreign_patient = factories.PatientFactory(clinic=other_clinic, therapist=foreign_therapist)
    foreign_course = factories.CourseFactory(patient=foreign_patient)
    return {
        "gone": gone,
        "foreign_therapist": foreign_therapist,
        "mine": factories.ReassignmentFactory(
            course=course, to_therapist=other_therapist, reassigned_by=clinic_admin
        ),
        "theirs": factories.ReassignmentFactory(
            course=other_course, to_therapist=therapist, reassigned_by=clinic_admin
        ),
        "foreign": factories.ReassignmentFactory(
            course=foreign_course,
            to_therapist=factories.TherapistFactory(clinic=other_clinic, username="foreign-two"),
            reassigned_by=other_clinic_admin,
        ),
    }


def persona(request, name: str):
    if name == "anonymous":
        return AnonymousUser()
    if name == "superuser":
        return User.objects.create_superuser("root", "root@example.test", "x")
    if name == "inactive_admin":
        admin = request.getfixturevalue("clinic_admin")
        admin.is_active = False
        return admin
    return request.getfixturevalue(name)


PERSONAS = [
    "therapist",
    "other_therapist",
    "clinic_admin",
    "other_clinic_admin",
    "patient_user",
    "inactive_admin",
    "superuser",
    "anonymous",
]

STAFF = {
    "clinic_admin": {"therapist", "other-therapist", "clinic-admin", "gone"},
    "other_clinic_admin": {"other-clinic-admin", "foreign-therapist", "foreign-two"},
}


@pytest.mark.parametrize(
    "name",
    PERSONAS,
)
def test_staff_for(request, graph, name):
    user = persona(request, name)
    assert {u.username for u in access.staff_for(user)} == STAFF.get(name, set())


REASSIGNMENTS = {
    "therapist": {"mine"},
    "other_therapist": {"theirs"},
    "clinic_admin": {"mine", "theirs"},
    "other_clinic_admin": {"foreign"},
}


@pytest.mark.parametrize(
    "name",
    PERSONAS,
)
def test_reassignments_for(request, graph, name):
    user = persona(request, name)
    labels = {graph[label].pk: label for label in ("mine", "theirs", "foreign")}
    assert {labels[r.pk] for r in access.reassignments_for(user)} == REASSIGNMENTS.get(name, set())


def test_reassignments_follow_the_patient_not_the_row(
    therapist, other_therapist, clinic_admin, patient, course
):
    # After a move the row is about the new therapist's patient: the old therapist no longer sees it.
    row = factories.ReassignmentFactory(
        course=course, to_therapist=other_therapist, reassigned_by=clinic_admin
    )
    patient.therapist = other_therapist
    patient.save()
    assert list(access.reassignments_for(other_therapist)) == [row]
    assert list(access.reassignments_for(therapist)) == []


@pytest.mark.parametrize("name", ["therapist", "clinic_admin"])
def test_portal_account_managers(request, patient, name):
    assert access.require_portal_account_manager(request.getfixturevalue(name), patient) is None


@pytest.mark.parametrize("name", ["other_therapist", "patient_user", "other_patient_user"])
def test_portal_account_others_are_refused(request, patient, name):
    with pytest.raises(PermissionDenied):
        access.require_portal_account_manager(request.getfixturevalue(name), patient)
