"""The one choke point for which rows a user may see.

Every view gets its rows through these functions. The rules:

* a therapist sees their own patients and everything under them;
* a clinic admin sees everything of their clinic (read-only, and never
  therapists' private notes: views and templates for admins leave them out);
* a patient sees only their own record, and of their goals only those the
  therapist made visible;
* anyone else (superusers, inactive or role-less accounts) sees nothing here:
  superusers work in Django admin.

A row outside the scope is answered exactly like a missing row: 404.
"""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q
from django.http import Http404

from sessions_app.models import (
    AuditEvent,
    Course,
    Goal,
    GoalReview,
    MeasureResponse,
    Patient,
    ProblemAreaFocus,
    Reassignment,
    RelationshipEntry,
    SessionAddendum,
    TherapySession,
    User,
)

M = TypeVar("M", bound=models.Model)


def _patient_scope(user: User, prefix: str = "") -> Q | None:
    """A filter on the patient reached through `prefix`, or None for no rows."""
    if not user.is_authenticated or not user.is_active or user.clinic_id is None:
        return None
    if user.is_therapist:
        return Q(**{f"{prefix}therapist": user, f"{prefix}clinic_id": user.clinic_id})
    if user.is_clinic_admin:
        return Q(**{f"{prefix}clinic_id": user.clinic_id})
    if user.is_patient:
        return Q(**{f"{prefix}portal_user": user, f"{prefix}clinic_id": user.clinic_id})
    return None


def _scoped(queryset: models.QuerySet[M], user: User, prefix: str) -> models.QuerySet[M]:
    scope = _patient_scope(user, prefix)
    return queryset.none() if scope is None else queryset.filter(scope)


def patients_for(user: User) -> models.QuerySet[Patient]:
    return _scoped(Patient.objects.all(), user, "")


def courses_for(user: User) -> models.QuerySet[Course]:
    return _scoped(Course.objects.select_related("patient", "therapist"), user, "patient__")


def foci_for(user: User) -> models.QuerySet[ProblemAreaFocus]:
    return _scoped(ProblemAreaFocus.objects.all(), user, "course__patient__")


def sessions_for(user: User) -> models.QuerySet[TherapySession]:
    return _scoped(
        TherapySession.objects.select_related("course__patient", "signed_by"),
        user,
        "course__patient__",
    )


def addenda_for(user: User) -> models.QuerySet[SessionAddendum]:
    if user.is_authenticated and user.is_patient:
        return SessionAddendum.objects.none()
    return _scoped(SessionAddendum.objects.all(), user, "session__course__patient__")


def goals_for(user: User) -> models.QuerySet[Goal]:
    goals = _scoped(Goal.objects.select_related("focus__course"), user, "focus__course__patient__")
    if user.is_authenticated and user.is_patient:
        goals = goals.filter(visible_to_patient=True)
    return goals


def goal_reviews_for(user: User) -> models.QuerySet[GoalReview]:
    reviews = _scoped(GoalReview.objects.all(), user, "goal__focus__course__patient__")
    if user.is_authenticated and user.is_patient:
        reviews = reviews.filter(goal__visible_to_patient=True)
    return reviews


def relationships_for(user: User) -> models.QuerySet[RelationshipEntry]:
    return _scoped(RelationshipEntry.objects.all(), user, "course__patient__")


def measures_for(user: User) -> models.QuerySet[MeasureResponse]:
    measures = _scoped(MeasureResponse.objects.all(), user, "patient__")
    if user.is_authenticated and user.is_patient:
        # Scores reach the portal only when the therapist shares them.
        measures = measures.filter(course__share_scores_with_patient=True)
    return measures


def therapists_for(user: User) -> models.QuerySet[User]:
    """Therapists a user may see (and assign patients to): their clinic's."""
    if not user.is_authenticated or not user.is_active or user.is_patient or user.clinic_id is None:
        return User.objects.none()
    return User.objects.filter(clinic_id=user.clinic_id, role=User.Role.THERAPIST)


def staff_for(user: User) -> models.QuerySet[User]:
    """Staff accounts (therapists and clinic admins, active or not) a clinic admin manages: their clinic's."""
    if not user.is_authenticated or not user.is_active or not user.is_clinic_admin or user.clinic_id is None:
        return User.objects.none()
    return User.objects.filter(
        clinic_id=user.clinic_id, role__in=[User.Role.THERAPIST, User.Role.CLINIC_ADMIN], is_superuser=False
    )


def reassignments_for(user: User) -> models.QuerySet[Reassignment]:
    if user.is_authenticated and user.is_patient:
        # Staff decisions about who treats whom are not portal content.
        return Reassignment.objects.none()
    return _scoped(
        Reassignment.objects.select_related("from_therapist", "to_therapist", "reassigned_by"),
        user,
        "patient__",
    )


def audit_events_for(user: User) -> models.QuerySet[AuditEvent]:
    if user.is_authenticated and user.is_active and user.is_clinic_admin:
        return AuditEvent.objects.filter(clinic_id=user.clinic_id)
    return AuditEvent.objects.none()


class OutOfScope(Http404):
    """404 for a row that is missing or outside the user's scope (the two look the same).

    Carries what was asked for, so that the DENIED audit row written by
    `audit_middleware` can name it; the response itself says nothing more.
    """

    def __init__(self, model: type[models.Model], public_id: UUID | str) -> None:
        super().__init__("No such record.")
        self.object_type = model.__name__
        self.object_id = str(public_id)[:64]


def get_or_404(queryset: models.QuerySet[M], public_id: UUID | str) -> M:
    """The row with this public id within the scope, else 404 (missing, foreign or malformed)."""
    try:
        return queryset.get(public_id=public_id)
    except (queryset.model.DoesNotExist, ValidationError, ValueError) as exc:
        # A malformed UUID raises ValidationError from the field: still just "not found".
        raise OutOfScope(queryset.model, public_id) from exc


def require_portal_account_manager(user: User, patient: Patient) -> None:
    """Portal accounts are given by the clinic admin or the patient's own therapist: 403 otherwise.

    Call only with a patient that came through `patients_for(user)`.
    """
    if not (user.is_clinic_admin or (user.is_therapist and patient.therapist_id == user.pk)):
        raise PermissionDenied("Only the clinic admin or the patient's therapist can manage portal access.")


def require_treating_therapist(user: User, patient: Patient) -> None:
    """Writes to clinical records belong to the patient's own therapist: 403 otherwise.

    Call only with a patient that came through `patients_for(user)`, so that
    a user who cannot even see the patient has already had a 404.
    """
    if not (user.is_therapist and patient.therapist_id == user.pk):
        raise PermissionDenied("Only the patient's therapist can change their record.")
