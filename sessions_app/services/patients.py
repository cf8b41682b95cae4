"""Adding a patient and starting an IPT course for them.

The view fetches rows through `sessions_app.access` and checks the treating
therapist; these functions validate with `full_clean()` before saving and run
in one transaction.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from sessions_app.models import Course, Patient, User

ACTIVE_COURSE_MESSAGE = (
    "This patient already has an active course: complete or discontinue it before starting another."
)
ARCHIVED_MESSAGE = "This patient is archived: no new course can start."


class ActiveCourseExists(ValidationError):
    """The patient already has an active course; one runs at a time."""

    def __init__(self) -> None:
        super().__init__(ACTIVE_COURSE_MESSAGE, code="active_course_exists")


@transaction.atomic
def patient_create(
    *,
    therapist: User,
    given_name: str,
    family_name: str,
    date_of_birth: date,
    conditions: list[str],
    conditions_other: str = "",
    medication: str = "",
    presenting_concerns: str = "",
) -> Patient:
    """A new patient of `therapist`, in the therapist's clinic."""
    if not therapist.is_therapist:
        raise ValidationError("Only a therapist can take on a patient.", code="not_a_therapist")
    patient = Patient(
        clinic_id=therapist.clinic_id,
        therapist=therapist,
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        conditions=list(conditions),
        conditions_other=conditions_other,
        medication=medication,
        presenting_concerns=presenting_concerns,
    )
    patient.full_clean()
    patient.save()
    return patient


@transaction.atomic
def course_start(
    *,
    patient: Patient,
    format: str,
    planned_sessions: int,
    frequency: str,
    start_date: date,
) -> Course:
    """Start an IPT course for `patient` with their therapist.

    Raises `ActiveCourseExists` if the patient already has an active course.
    The patient row is locked first, so two concurrent starts cannot both
    pass that check (on PostgreSQL; SQLite serialises writers anyway).
    """
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if locked.archived_at is not None:
        raise ValidationError(ARCHIVED_MESSAGE, code="archived")
    if locked.courses.filter(status=Course.Status.ACTIVE).exists():
        raise ActiveCourseExists()
    course = Course(
        patient=locked,
        therapist=locked.therapist,
        format=format,
        planned_sessions=planned_sessions,
        frequency=frequency,
        start_date=start_date,
    )
    course.full_clean()
    course.save()
    return course
