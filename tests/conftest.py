"""Shared fixtures: the personas every access test is written against.

* `therapist` treats `patient` (whose portal account is `patient_user`);
* `other_therapist` works in the same clinic and treats `other_patient`;
* `clinic_admin` runs that clinic; `other_clinic_admin` runs another one.
"""

from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture
def clinic():
    return factories.ClinicFactory(name="Riverside IPT Clinic")


@pytest.fixture
def other_clinic():
    return factories.ClinicFactory(name="Hillside Clinic")


@pytest.fixture
def therapist(clinic):
    return factories.TherapistFactory(clinic=clinic, username="therapist")


@pytest.fixture
def other_therapist(clinic):
    return factories.TherapistFactory(clinic=clinic, username="other-therapist")


@pytest.fixture
def clinic_admin(clinic):
    return factories.ClinicAdminFactory(clinic=clinic, username="clinic-admin")


@pytest.fixture
def other_clinic_admin(other_clinic):
    return factories.ClinicAdminFactory(clinic=other_clinic, username="other-clinic-admin")


@pytest.fixture
def patient_user(clinic):
    return factories.PortalUserFactory(clinic=clinic, username="patient")


@pytest.fixture
def other_patient_user(clinic):
    return factories.PortalUserFactory(clinic=clinic, username="other-patient")


@pytest.fixture
def patient(clinic, therapist, patient_user):
    return factories.PatientFactory(
        clinic=clinic, therapist=therapist, portal_user=patient_user, given_name="Ada", family_name="Lovelace"
    )


@pytest.fixture
def other_patient(clinic, other_therapist, other_patient_user):
    return factories.PatientFactory(
        clinic=clinic,
        therapist=other_therapist,
        portal_user=other_patient_user,
        given_name="Grace",
        family_name="Hopper",
    )


@pytest.fixture
def course(patient):
    return factories.CourseFactory(patient=patient)


@pytest.fixture
def other_course(other_patient):
    return factories.CourseFactory(patient=other_patient)
