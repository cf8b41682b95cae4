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

from datetime import date, timedelta
from typing import TypeVar
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from sessions_app.models import (
    AuditEvent,
    ContractRevision,
    Course,
    EmergencyAccess,
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
        # Their caseload, and the patients of their clinic they opened in an
        # emergency while that access lasts: read-only, as every write also
        # needs `require_treating_therapist`.
        return Q(**{f"{prefix}clinic_id": user.clinic_id}) & (
            Q(**{f"{prefix}therapist": user}) | Q(**{f"{prefix}pk__in": _emergency_patient_ids(user)})
        )
    if user.is_clinic_admin:
        return Q(**{f"{prefix}clinic_id": user.clinic_id})
    if user.is_patient:
        return Q(**{f"{prefix}portal_user": user, f"{prefix}clinic_id": user.clinic_id})
    return None


def _emergency_patient_ids(user: User) -> models.QuerySet:
    """Ids of the patients `user` holds unexpired emergency access to (a subquery, not a query)."""
    return EmergencyAccess.objects.filter(user=user, expires_at__gt=timezone.now()).values("patient_id")


def _scoped(queryset: models.QuerySet[M], user: User, prefix: str) -> models.QuerySet[M]:
    scope = _patient_scope(user, prefix)
    return queryset.none() if scope is None else queryset.filter(scope)


def patients_for(user: User) -> models.QuerySet[Patient]:
    return _scoped(Patient.objects.all(), user, "")


def caseload_for(user: User) -> models.QuerySet[Patient]:
    """The patients a user looks after: `patients_for` without emergency access.

    For lists that mean "my patients" (the therapist's dashboard): a patient
    opened in an emergency is reachable, not part of the caseload.
    """
    patients = patients_for(user)
    if user.is_authenticated and user.is_therapist:
        patients = patients.filter(therapist=user)
    return patients


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


def contract_revisions_for(user: User) -> models.QuerySet[ContractRevision]:
    # The reason for a revision is a clinical note between staff: not for the portal.
    if user.is_authenticated and user.is_patient:
        return ContractRevision.objects.none()
    return _scoped(ContractRevision.objects.all(), user, "course__patient__")


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


def emergency_accesses_for(user: User) -> models.QuerySet[EmergencyAccess]:
    """Emergency ("break the glass") grants: a therapist sees their own, a clinic admin their clinic's."""
    if not user.is_authenticated or not user.is_active or user.clinic_id is None:
        return EmergencyAccess.objects.none()
    grants = EmergencyAccess.objects.select_related("user", "patient")
    grants = grants.filter(patient__clinic_id=user.clinic_id)
    if user.is_therapist:
        return grants.filter(user=user)
    if user.is_clinic_admin:
        return grants
    return EmergencyAccess.objects.none()


def emergency_accesses_to_review(user: User, *, days: int = 7) -> models.QuerySet[EmergencyAccess]:
    """For the clinic admin's dashboard: grants still running, or started in the last `days` days."""
    now = timezone.now()
    return emergency_accesses_for(user).filter(
        Q(expires_at__gt=now) | Q(started_at__gte=now - timedelta(days=days))
    )


def emergency_candidates(
    user: User, *, given_name: str, family_name: str, date_of_birth: date
) -> models.QuerySet[Patient]:
    """The patients of a therapist's clinic with exactly this name and date of birth.

    The only way to reach a patient outside one's caseload: nothing partial
    or fuzzy matches, so it cannot be used to browse the clinic's patients.
    Case and surrounding spaces do not matter.
    """
    if not (user.is_authenticated and user.is_active and user.is_therapist and user.clinic_id):
        return Patient.objects.none()
    return Patient.objects.filter(
        clinic_id=user.clinic_id,
        given_name__iexact=given_name.strip(),
        family_name__iexact=family_name.strip(),
        date_of_birth=date_of_birth,
    )


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
