"""Giving a patient a portal account: by the clinic admin or the patient's own therapist.

Rules under test: the admin and the treating therapist may create the account
(another therapist of the clinic and another clinic's admin get 404, patients
403); the account is a patient-role account of the patient's clinic, linked
as `Patient.portal_user`, with no usable password; the activation link is
emailed (locmem backend in tests) and shown to the staff member once; a new
link replaces the old one; bad input gets field errors and keeps what was
typed; every step is audited.
"""

from __future__ import annotations

import smtplib

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse

from sessions_app.models import AuditEvent, User
from sessions_app.services import accounts as account_services
from sessions_app.tokens import LinkState, activation_token
from tests import factories

pytestmark = pytest.mark.django_db


class FailingEmailBackend(BaseEmailBackend):
    """A mail server that is down (test infrastructure, not our code)."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def unlinked_patient(clinic, therapist):
    """A patient of `therapist` without a portal account yet."""
    return factories.PatientFactory(
        clinic=clinic, therapist=therapist, given_name="Florence", family_name="Nightingale"
    )


def signed_in(client, user):
    client.force_login(user)
    return client


def portal_url(patient) -> str:
    return reverse("patient-portal-account", args=[patient.public_id])


def link_url(patient) -> str:
    return reverse("patient-portal-link", args=[patient.public_id])


def token_from(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


DATA = {"username": "florence", "email": "florence@example.test"}


# --- Who may do it --------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["therapist", "clinic_admin"])
def test_the_treating_therapist_or_the_admin_creates_the_account(client, request, persona, unlinked_patient):
    staff = request.getfixturevalue(persona)
    signed_in(client, staff)
    page = client.get(portal_url(unlinked_patient))
    assert page.status_code == 200
    assert page.context["form"].initial["username"] == "florence.nightingale"

    response = client.post(portal_url(unlinked_patient), DATA)
    assert response.status_code == 302 and response.url == reverse("account-link-shown")

    unlinked_patient.refresh_from_db()
    account = unlinked_patient.portal_user
    assert account.username == "florence" and account.email == DATA["email"]
    assert (account.role, account.clinic_id) == (User.Role.PATIENT, unlinked_patient.clinic_id)
    assert account.get_full_name() == "Florence Nightingale"
    assert account.is_active and not account.has_usable_password()

    assert len(mail.outbox) == 1 and mail.outbox[0].to == [DATA["email"]]
    shown = client.get(response.url)
    link = shown.context["issued"]["url"]
    assert link.startswith("http://testserver/activate/")
    assert link in mail.outbox[0].body and link in shown.content.decode()
    assert "emailed to florence@example.test" in shown.content.decode()
    assert activation_token.state(account, token_from(link)) is LinkState.VALID
    # Shown once: a reload no longer has it.
    assert client.get(response.url).context["issued"] is None

    events = AuditEvent.objects.filter(user=staff, patient_public_id=unlinked_patient.public_id)
    assert set(events.values_list("action", "object_type")) >= {
        (AuditEvent.Action.VIEW, "Patient"),
        (AuditEvent.Action.CREATE, "User"),
        (AuditEvent.Action.CREATE, "ActivationLink"),
    }


def test_another_therapist_of_the_clinic_gets_404(client, other_therapist, unlinked_patient):
    signed_in(client, other_therapist)
    assert client.get(portal_url(unlinked_patient)).status_code == 404
    assert client.post(portal_url(unlinked_patient), DATA).status_code == 404
    assert client.post(link_url(unlinked_patient)).status_code == 404
    unlinked_patient.refresh_from_db()
    assert unlinked_patient.portal_user is None


def test_another_clinics_admin_gets_404(client, other_clinic_admin, unlinked_patient):
    signed_in(client, other_clinic_admin)
    assert client.get(portal_url(unlinked_patient)).status_code == 404
    assert client.post(portal_url(unlinked_patient), DATA).status_code == 404
    assert not User.objects.filter(username="florence").exists()


@pytest.mark.parametrize("persona", ["patient_user", "other_patient_user"])
def test_patients_get_403(client, request, persona, patient, unlinked_patient):
    signed_in(client, request.getfixturevalue(persona))
    for target in (patient, unlinked_patient):
        assert client.get(portal_url(target)).status_code == 403
        assert client.post(portal_url(target), DATA).status_code == 403
        assert client.post(link_url(target)).status_code == 403
    assert client.get(reverse("account-link-shown")).status_code == 403


def test_anonymous_is_sent_to_sign_in(client, unlinked_patient):
    for response in (client.get(portal_url(unlinked_patient)), client.post(link_url(unlinked_patient))):
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


# --- Bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"username": "", "email": "f@example.test"}, "username", "This field is required."),
        ({"username": "flo rence", "email": "f@example.test"}, "username", "Enter a valid username."),
        ({"username": "Therapist", "email": "f@example.test"}, "username", "already taken"),
        ({"username": "florence", "email": "not an address"}, "email", "Enter a valid email address."),
    ],
)
def test_form_errors_keep_what_was_typed(client, therapist, unlinked_patient, data, field, message):
    response = signed_in(client, therapist).post(portal_url(unlinked_patient), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field] and message in errors[field][0]
    html = response.content.decode()
    for typed in data.values():
        if typed:
            assert f'value="{typed}"' in html
    unlinked_patient.refresh_from_db()
    assert unlinked_patient.portal_user is None and not mail.outbox


def test_without_an_email_the_link_is_only_shown(client, therapist, unlinked_patient):
    signed_in(client, therapist)
    response = client.post(portal_url(unlinked_patient), {"username": "florence", "email": ""})
    shown = client.get(response.url)
    assert not mail.outbox
    assert "No email address was given" in shown.content.decode()
    assert shown.context["issued"]["url"].startswith("http://testserver/activate/")


def test_a_mail_failure_still_shows_the_link_and_says_so(client, settings, therapist, unlinked_patient):
    settings.EMAIL_BACKEND = f"{__name__}.FailingEmailBackend"
    signed_in(client, therapist)
    response = client.post(portal_url(unlinked_patient), DATA)
    shown = client.get(response.url)
    html = shown.content.decode()
    assert "could not be sent" in html and shown.context["issued"]["emailed"] is False
    unlinked_patient.refresh_from_db()
    assert unlinked_patient.portal_user is not None


def test_a_patient_with_an_account_gets_its_state_not_a_second_account(client, clinic_admin, patient):
    signed_in(client, clinic_admin)
    page = client.get(portal_url(patient))
    assert page.context["form"] is None and page.context["pending"] is False
    assert "Active" in page.content.decode()
    response = client.post(portal_url(patient), {"username": "second", "email": ""}, follow=True)
    assert "already has a portal account" in response.content.decode()
    assert not User.objects.filter(username="second").exists()


def test_the_service_refuses_a_second_account(patient):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="already has a portal account"):
        account_services.portal_account_create(patient=patient, username="second", email="")
    assert not User.objects.filter(username="second").exists()


# --- A new link -----------------------------------------------------------------------------------------


def test_a_new_link_replaces_the_old_one(client, therapist, unlinked_patient):
    signed_in(client, therapist)
    first = client.get(client.post(portal_url(unlinked_patient), DATA).url).context["issued"]["url"]
    page = client.get(portal_url(unlinked_patient))
    assert page.context["pending"] is True
    assert link_url(unlinked_patient) in page.content.decode()

    response = client.post(link_url(unlinked_patient))
    second = client.get(response.url).context["issued"]["url"]
    assert second != first
    account = User.objects.get(username="florence")
    assert activation_token.state(account, token_from(first)) is LinkState.INVALID
    assert activation_token.state(account, token_from(second)) is LinkState.VALID
    assert len(mail.outbox) == 2 and second in mail.outbox[1].body
    assert (
        AuditEvent.objects.filter(
            user=therapist, action=AuditEvent.Action.CREATE, object_type="ActivationLink"
        ).count()
        == 2
    )


def test_no_new_link_once_the_account_is_activated(client, therapist, patient):
    signed_in(client, therapist)
    response = client.post(link_url(patient), follow=True)
    assert "no portal account waiting for activation" in response.content.decode()
    assert not mail.outbox
    assert link_url(patient) not in client.get(portal_url(patient)).content.decode()


def test_no_link_for_a_patient_without_an_account(client, therapist, unlinked_patient):
    response = signed_in(client, therapist).post(link_url(unlinked_patient), follow=True)
    assert "no portal account waiting for activation" in response.content.decode()


def test_the_link_page_answers_get_only(client, therapist):
    assert signed_in(client, therapist).post(reverse("account-link-shown")).status_code == 405


def test_patient_page_offers_portal_access_to_admin_and_treating_therapist_only(
    client, clinic_admin, therapist, other_therapist, patient, course
):
    url = reverse("patient-detail", args=[patient.public_id])
    admin_html = signed_in(client, clinic_admin).get(url).content.decode()
    assert portal_url(patient) in admin_html
    assert reverse("patient-reassign", args=[patient.public_id]) in admin_html
    assert reverse("clinic-course-summary", args=[course.public_id]) in admin_html
    therapist_html = signed_in(client, therapist).get(url).content.decode()
    assert portal_url(patient) in therapist_html
    assert reverse("patient-reassign", args=[patient.public_id]) not in therapist_html
    assert reverse("clinic-course-summary", args=[course.public_id]) not in therapist_html
