"""Accounts: the clinic's staff (admins only) and patients' portal accounts (admin or treating therapist).

A new account never gets a password from a staff member: it waits for its
owner to open a one-time activation link (`sessions_app.tokens`), which is
emailed and shown to the staff member once (`link_shown`).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sessions_app import access, audit
from sessions_app.decorators import clinic_admin_required, staff_required
from sessions_app.forms.accounts import (
    PortalAccountForm,
    StaffAccountForm,
    StaffDeactivateForm,
    suggested_username,
)
from sessions_app.models import AuditEvent, Patient, User
from sessions_app.services import accounts as account_services

# The issued link travels to the next page in the session and is removed when shown:
# it is never stored anywhere else, and a reload does not show it again.
ISSUED_LINK_SESSION_KEY = "issued_activation_link"
ACTIVATION_LINK = "ActivationLink"


def _issue_link(
    request: HttpRequest, user: User, *, back_url: str, patient: Patient | None = None
) -> HttpResponse:
    """Issue (or re-issue) the account's activation link, audit it, and show it once."""
    issued = account_services.activation_link_issue(user=user, absolute_uri=request.build_absolute_uri)
    audit.record(request, AuditEvent.Action.CREATE, user, object_type=ACTIVATION_LINK, patient=patient)
    request.session[ISSUED_LINK_SESSION_KEY] = {
        "name": user.display_name,
        "username": user.username,
        "email": user.email,
        "url": issued.url,
        "expires_at": issued.expires_at.isoformat(),
        "emailed": issued.emailed,
        "back_url": back_url,
    }
    return redirect("account-link-shown")


@staff_required
@never_cache
@require_GET
def link_shown(request: HttpRequest) -> HttpResponse:
    """The activation link just issued, shown once; afterwards only a new link helps."""
    issued = request.session.pop(ISSUED_LINK_SESSION_KEY, None)
    if issued is not None:
        issued["expires_at"] = parse_datetime(issued["expires_at"])
    return render(request, "clinic/accounts/link_shown.html", {"issued": issued})


# --- Staff accounts ---------------------------------------------------------------------------------


def _staff_member(request: HttpRequest, public_id: str) -> User:
    return access.get_or_404(access.staff_for(request.user), public_id)


@clinic_admin_required
@require_GET
def staff_list(request: HttpRequest) -> HttpResponse:
    """Everyone who works in the clinic, with their state and caseload size."""
    staff = (
        access.staff_for(request.user)
        .annotate(active_patients=Count("patients", filter=Q(patients__archived_at__isnull=True)))
        .order_by("-is_active", "role", "last_name", "first_name", "username")
    )
    audit.record(request, AuditEvent.Action.LIST, object_type="User")
    return render(request, "clinic/accounts/staff_list.html", {"staff": staff})


@clinic_admin_required
@require_http_methods(["GET", "POST"])
def staff_create(request: HttpRequest) -> HttpResponse:
    """A new therapist or clinic admin of this clinic; they set their own password from the link."""
    form = StaffAccountForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = account_services.staff_create(clinic=request.user.clinic, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            audit.record(request, AuditEvent.Action.CREATE, user)
            messages.success(request, f"Account created for {user.display_name} ({user.get_role_display()}).")
            return _issue_link(request, user, back_url=reverse("clinic-staff"))
    return render(request, "clinic/accounts/staff_form.html", {"form": form})


@clinic_admin_required
@require_http_methods(["GET", "POST"])
def staff_deactivate(request: HttpRequest, public_id: str) -> HttpResponse:
    """Deactivate a staff account (never delete it); a therapist's active patients are listed first."""
    member = _staff_member(request, public_id)
    if member.pk == request.user.pk:
        messages.error(request, "You cannot deactivate your own account: ask another clinic admin.")
        return redirect("clinic-staff")
    if not member.is_active:
        messages.info(request, f"{member.display_name}'s account is already deactivated.")
        return redirect("clinic-staff")
    active_patients = list(
        access.patients_for(request.user)
        .active()
        .filter(therapist=member)
        .order_by("family_name", "given_name")
    )
    form = StaffDeactivateForm(
        request.POST if request.method == "POST" else None, active_patients=len(active_patients)
    )
    if request.method == "POST" and form.is_valid():
        account_services.staff_deactivate(user=member, by=request.user)
        audit.record(request, AuditEvent.Action.UPDATE, member)
        messages.success(
            request, f"{member.display_name}'s account is deactivated: they can no longer sign in."
        )
        return redirect("clinic-staff")
    if active_patients:
        # The warning names the therapist's patients: one list row per patient shown.
        audit.record_list(request, active_patients)
    context = {"member": member, "form": form, "active_patients": active_patients}
    return render(request, "clinic/accounts/staff_deactivate.html", context)


@clinic_admin_required
@require_POST
def staff_reactivate(request: HttpRequest, public_id: str) -> HttpResponse:
    member = _staff_member(request, public_id)
    if member.is_active:
        messages.info(request, f"{member.display_name}'s account is already active.")
    else:
        account_services.staff_reactivate(user=member)
        audit.record(request, AuditEvent.Action.UPDATE, member)
        messages.success(request, f"{member.display_name}'s account is active again.")
    return redirect("clinic-staff")


@clinic_admin_required
@require_POST
def staff_link(request: HttpRequest, public_id: str) -> HttpResponse:
    """A new activation link for a staff member who has not set a password yet; the old link stops working."""
    member = _staff_member(request, public_id)
    if not account_services.is_pending(member):
        messages.error(request, f"{member.display_name}'s account is not waiting for activation.")
        return redirect("clinic-staff")
    return _issue_link(request, member, back_url=reverse("clinic-staff"))


# --- Patients' portal accounts -----------------------------------------------------------------------


def _patient_for_portal(request: HttpRequest, public_id: str) -> Patient:
    patient = access.get_or_404(
        access.patients_for(request.user).select_related("portal_user", "therapist"), public_id
    )
    access.require_portal_account_manager(request.user, patient)
    return patient


@staff_required
@require_http_methods(["GET", "POST"])
def portal_account(request: HttpRequest, public_id: str) -> HttpResponse:
    """The patient's portal access: its state, or the form that creates it."""
    patient = _patient_for_portal(request, public_id)
    account = patient.portal_user
    form = None
    if account is None:
        form = PortalAccountForm(
            request.POST if request.method == "POST" else None,
            initial={"username": suggested_username(patient)},
        )
        if request.method == "POST" and form.is_valid():
            try:
                account = account_services.portal_account_create(patient=patient, **form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                audit.record(request, AuditEvent.Action.CREATE, account, patient=patient)
                messages.success(request, f"Portal account created for {patient.full_name}.")
                return _issue_link(request, account, back_url=_portal_url(patient), patient=patient)
    elif request.method == "POST":
        messages.info(request, f"{patient.full_name} already has a portal account.")
        return redirect(_portal_url(patient))
    if request.method == "GET":
        audit.record(request, AuditEvent.Action.VIEW, patient, patient=patient)
    context = {
        "patient": patient,
        "account": account,
        "pending": account is not None and account_services.is_pending(account),
        "form": form,
    }
    return render(request, "clinic/accounts/portal_account.html", context)


@staff_required
@require_POST
def portal_link(request: HttpRequest, public_id: str) -> HttpResponse:
    """A new activation link for the patient's portal account; the old link stops working."""
    patient = _patient_for_portal(request, public_id)
    account = patient.portal_user
    if account is None or not account_services.is_pending(account):
        messages.error(request, "There is no portal account waiting for activation.")
        return redirect(_portal_url(patient))
    return _issue_link(request, account, back_url=_portal_url(patient), patient=patient)


def _portal_url(patient: Patient) -> str:
    return reverse("patient-portal-account", kwargs={"public_id": patient.public_id})


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        for message in exc.messages:
            form.add_error(None, message)


urlpatterns = [
    path("clinic/staff/", staff_list, name="clinic-staff"),
    path("clinic/staff/new/", staff_create, name="clinic-staff-new"),
    path("clinic/staff/<uuid:public_id>/deactivate/", staff_deactivate, name="clinic-staff-deactivate"),
    path("clinic/staff/<uuid:public_id>/reactivate/", staff_reactivate, name="clinic-staff-reactivate"),
    path("clinic/staff/<uuid:public_id>/activation-link/", staff_link, name="clinic-staff-link"),
    path("patients/<uuid:public_id>/portal-account/", portal_account, name="patient-portal-account"),
    path("patients/<uuid:public_id>/portal-account/link/", portal_link, name="patient-portal-link"),
    path("accounts/activation-link/", link_shown, name="account-link-shown"),
]
