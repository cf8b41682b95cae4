"""Running the clinic: staff accounts, patients' portal accounts, activation links, reassignment.

Views fetch every row through `sessions_app.access` (scope and role are checked
there); these functions validate with `full_clean()` and write in one
transaction. Nobody ever chooses a password for someone else: a new account
gets an unusable password and a one-time activation link (`sessions_app.tokens`).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import Clinic, Course, Patient, Reassignment, User
from sessions_app.tokens import activation_token

logger = logging.getLogger(__name__)

STAFF_ROLES = (User.Role.THERAPIST, User.Role.CLINIC_ADMIN)


@dataclass(frozen=True)
class IssuedLink:
    """An activation link as issued: shown once to the staff member, never stored."""

    user: User
    url: str
    expires_at: datetime
    emailed: bool


def is_pending(user: User) -> bool:
    """The account exists but its owner has not chosen a password yet."""
    return user.is_active and not user.has_usable_password()


def _new_account(
    *, clinic_id: int, role: str, username: str, first_name: str, last_name: str, email: str
) -> User:
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        role=role,
        clinic_id=clinic_id,
        is_active=True,
    )
    # Nobody can sign in until the owner sets a password through the activation link.
    user.set_unusable_password()
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def staff_create(
    *, clinic: Clinic, role: str, username: str, first_name: str, last_name: str, email: str
) -> User:
    """A therapist or clinic-admin account in `clinic`, waiting for activation."""
    if role not in STAFF_ROLES:
        raise ValidationError("Staff accounts are therapists or clinic admins.", code="not_staff_role")
    return _new_account(
        clinic_id=clinic.pk,
        role=role,
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
    )


@transaction.atomic
def portal_account_create(*, patient: Patient, username: str, email: str) -> User:
    """A portal account (role patient) for `patient`, waiting for activation.

    The patient row is locked first, so two staff members cannot both give
    the same patient an account.
    """
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if locked.portal_user_id is not None:
        raise ValidationError("This patient already has a portal account.", code="portal_account_exists")
    user = _new_account(
        clinic_id=locked.clinic_id,
        role=User.Role.PATIENT,
        username=username,
        first_name=locked.given_name,
        last_name=locked.family_name,
        email=email,
    )
    locked.portal_user = user
    locked.save(update_fields=["portal_user"])
    patient.portal_user = user
    return user


def activation_link_issue(*, user: User, absolute_uri: Callable[[str], str]) -> IssuedLink:
    """Issue a new activation link for a pending account and email it if the account has an address.

    Any earlier link stops working: the account first gets a fresh random
    unusable password, and the token is keyed on the password hash. A mail
    failure does not undo anything: the staff member sees the link and can
    hand it over another way.
    """
    if not user.is_active:
        raise ValidationError("This account is deactivated: reactivate it first.", code="inactive")
    if user.has_usable_password():
        raise ValidationError(
            "This account is already activated: its owner signs in with their own password.", code="activated"
        )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    token = activation_token.make_token(user)
    url = absolute_uri(reverse("account-activate", kwargs={"public_id": user.public_id, "token": token}))
    expires_at = timezone.now() + timedelta(seconds=activation_token.timeout)
    emailed = bool(user.email) and _send_activation_email(user, url, expires_at)
    return IssuedLink(user=user, url=url, expires_at=expires_at, emailed=emailed)


def _send_activation_email(user: User, url: str, expires_at: datetime) -> bool:
    context = {"user": user, "url": url, "expires_at": expires_at, "clinic": user.clinic}
    subject = render_to_string("registration/activation_email_subject.txt", context).strip()
    body = render_to_string("registration/activation_email.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    except (smtplib.SMTPException, OSError):
        # The link is shown to the staff member anyway; say so rather than fail the request.
        logger.warning("Activation email to account %s could not be sent.", user.public_id, exc_info=True)
        return False
    return True


def staff_deactivate(*, user: User, by: User) -> None:
    """Switch a staff account off: it can no longer sign in and its sessions end. Never deleted."""
    if user.pk == by.pk:
        raise ValidationError("You cannot deactivate your own account.", code="self")
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])


def staff_reactivate(*, user: User) -> None:
    """Switch a staff account back on (with the password it had, or still waiting for activation)."""
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])


@transaction.atomic
def patient_reassign(*, patient: Patient, to_therapist: User, reason: str, by: User) -> Reassignment:
    """Move `patient` (and their active course) to another active therapist of the clinic.

    Completed and discontinued courses keep the therapist who ran them. The
    patient row is locked so that two reassignments at once record the
    therapist each one really moved the patient from.
    """
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if to_therapist.pk == locked.therapist_id:
        raise ValidationError("The patient is already with this therapist.", code="same_therapist")
    in_clinic = to_therapist.clinic_id == locked.clinic_id
    if not (to_therapist.is_therapist and to_therapist.is_active and in_clinic):
        raise ValidationError("Choose an active therapist of this clinic.", code="not_clinic_therapist")
    course = locked.courses.filter(status=Course.Status.ACTIVE).order_by("-start_date").first()
    reassignment = Reassignment(
        patient=locked,
        course=course,
        from_therapist_id=locked.therapist_id,
        to_therapist=to_therapist,
        reason=reason.strip(),
        reassigned_by=by,
    )
    reassignment.full_clean()
    reassignment.save()
    locked.therapist = to_therapist
    locked.save(update_fields=["therapist"])
    if course is not None:
        course.therapist = to_therapist
        course.save(update_fields=["therapist"])
    patient.therapist = to_therapist
    return reassignment
