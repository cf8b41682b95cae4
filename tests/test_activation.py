"""The one-time activation link: its owner sets their own password, once, before it expires.

Rules under test: the page is public; a good link moves the token into the
session and redirects to a URL without it; the password must pass Django's
validators; afterwards the link is spent (reuse → a clear page, nothing
changes); it expires after ACCOUNT_ACTIVATION_TIMEOUT (72 h by default); a new
link voids the old one; a link cannot activate another account; every bad
link gets the same page whatever the reason (so it never tells whether an
account exists), an expired one says it expired; an address that keeps
presenting bad links is asked to wait.

Expiry is tested with a token made in the past by a generator whose `_now`
is shifted (Django's own hook for this), and by shortening the setting.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse

from sessions_app import throttle
from sessions_app.models import AuditEvent, User
from sessions_app.services import accounts as account_services
from sessions_app.tokens import (
    DEFAULT_ACTIVATION_TIMEOUT,
    ActivationTokenGenerator,
    LinkState,
    activation_token,
)
from sessions_app.views.activation import SET_PASSWORD
from tests import factories

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "quiet-harbour-lantern-42"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def account(clinic, therapist):
    """A patient's portal account waiting for activation."""
    patient = factories.PatientFactory(clinic=clinic, therapist=therapist, given_name="Florence")
    return account_services.portal_account_create(
        patient=patient, username="florence", email="f@example.test"
    )


def issue(user: User) -> str:
    """A fresh activation link (path only) for `user`."""
    return account_services.activation_link_issue(user=user, absolute_uri=lambda path: path).url


def link_for(user: User, token: str) -> str:
    return reverse("account-activate", kwargs={"public_id": user.public_id, "token": token})


class GeneratorAt(ActivationTokenGenerator):
    """The activation token generator with its clock moved (Django's documented test hook)."""

    def __init__(self, offset: timedelta) -> None:
        super().__init__()
        self.offset = offset

    def _now(self) -> datetime:
        return super()._now() + self.offset


def activate(client, url: str, password: str = NEW_PASSWORD):
    first = client.get(url)
    assert first.status_code == 302
    return client.post(first.url, {"new_password1": password, "new_password2": password})


def password_hash(user: User) -> str:
    return User.objects.values_list("password", flat=True).get(pk=user.pk)


# --- The happy path -------------------------------------------------------------------------------------


def test_the_owner_sets_a_password_and_can_sign_in(client, account):
    url = issue(account)
    first = client.get(url)
    assert first.status_code == 302
    # The token leaves the URL before any page is shown (no Referer leak).
    set_password_url = link_for(account, SET_PASSWORD)
    assert first.url == set_password_url
    form_page = client.get(set_password_url)
    assert form_page.status_code == 200
    assert "florence" in form_page.content.decode()

    done = client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done.url == reverse("account-activate-done")
    assert client.get(done.url).status_code == 200
    account.refresh_from_db()
    assert account.check_password(NEW_PASSWORD)

    fresh = client.__class__()
    fresh.post(reverse("login"), {"username": "florence", "password": NEW_PASSWORD})
    assert fresh.session.get("_auth_user_id") == str(account.pk)

    event = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE, object_id=str(account.public_id))
    assert event.user == account and event.patient_public_id == account.patient_record.public_id


def test_the_page_is_public_and_not_cached(client, account):
    response = client.get(issue(account))
    assert response.status_code == 302 and not response.url.startswith(reverse("login"))
    page = client.get(response.url)
    assert "no-cache" in page["Cache-Control"] or "no-store" in page["Cache-Control"]


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-1", "This password is too short."),
        ("password1234", "This password is too common."),
        ("482915736018", "This password is entirely numeric."),
        ("florence12345", "too similar to the username"),
    ],
)
def test_the_password_must_pass_djangos_validators(client, account, password, message):
    response = activate(client, issue(account), password)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["new_password2"])
    assert not User.objects.get(pk=account.pk).has_usable_password()


def test_mismatched_passwords_are_refused(client, account):
    client.get(issue(account))
    response = client.post(
        link_for(account, SET_PASSWORD), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"}
    )
    assert response.status_code == 200 and response.context["form"].errors["new_password2"]
    assert not User.objects.get(pk=account.pk).has_usable_password()


def test_staff_activate_the_same_way(client, clinic):
    staff = account_services.staff_create(
        clinic=clinic,
        role=User.Role.THERAPIST,
        username="newtherapist",
        first_name="N",
        last_name="T",
        email="",
    )
    activate(client, issue(staff))
    staff.refresh_from_db()
    assert staff.check_password(NEW_PASSWORD)


# --- Works once -----------------------------------------------------------------------------------------


def test_a_used_link_shows_a_clear_page_and_changes_nothing(client, account):
    url = issue(account)
    activate(client, url)
    stored = password_hash(account)

    reuse = client.__class__().get(url)
    assert reuse.status_code == 410
    html = reuse.content.decode()
    assert "This link cannot be used" in html and "Ask your clinic for a new activation link" in html
    assert password_hash(account) == stored
    assert AuditEvent.objects.filter(action=AuditEvent.Action.DENIED, object_type="ActivationLink").exists()


def test_the_password_form_cannot_be_posted_twice(client, account):
    activate(client, issue(account))
    stored = password_hash(account)
    other = "other-" + NEW_PASSWORD
    again = client.post(link_for(account, SET_PASSWORD), {"new_password1": other, "new_password2": other})
    assert again.status_code == 410
    assert password_hash(account) == stored


def test_the_set_password_page_needs_the_link_first(client, account):
    issue(account)
    response = client.get(link_for(account, SET_PASSWORD))
    assert response.status_code == 410


# --- Expires --------------------------------------------------------------------------------------------


def test_the_default_lifetime_is_72_hours():
    assert DEFAULT_ACTIVATION_TIMEOUT == 72 * 60 * 60
    assert activation_token.timeout == DEFAULT_ACTIVATION_TIMEOUT


def test_an_expired_link_says_so_and_changes_nothing(client, account):
    issue(account)
    account.refresh_from_db()
    stored = password_hash(account)
    old_token = GeneratorAt(-timedelta(hours=72, minutes=1)).make_token(account)
    assert activation_token.state(account, old_token) is LinkState.EXPIRED
    response = client.get(link_for(account, old_token))
    assert response.status_code == 410
    html = response.content.decode()
    assert "This link has expired" in html and "Ask your clinic for a new activation link" in html
    assert password_hash(account) == stored
    assert "_activation_token" not in client.session


def test_a_link_just_inside_its_lifetime_still_works(client, account):
    issue(account)
    account.refresh_from_db()
    token = GeneratorAt(-timedelta(hours=71, minutes=59)).make_token(account)
    assert client.get(link_for(account, token)).status_code == 302


def test_the_lifetime_follows_the_setting(client, settings, account):
    url = issue(account)
    settings.ACCOUNT_ACTIVATION_TIMEOUT = -1  # every link is already too old
    response = client.get(url)
    assert response.status_code == 410 and "This link has expired" in response.content.decode()


def test_a_link_that_expires_between_opening_and_submitting_changes_nothing(client, settings, account):
    client.get(issue(account))
    settings.ACCOUNT_ACTIVATION_TIMEOUT = -1
    response = client.post(
        link_for(account, SET_PASSWORD), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 410
    assert not User.objects.get(pk=account.pk).has_usable_password()


# --- Regeneration and other accounts --------------------------------------------------------------------


def test_a_new_link_voids_the_previous_one(client, account):
    first = issue(account)
    second = issue(account)
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 302


def test_a_link_cannot_activate_another_account(client, clinic, therapist, account):
    other_patient = factories.PatientFactory(clinic=clinic, therapist=therapist)
    other = account_services.portal_account_create(patient=other_patient, username="other", email="")
    issue(other)
    token = token_of(issue(account))
    response = client.get(link_for(other, token))
    assert response.status_code == 410
    assert not User.objects.get(pk=other.pk).has_usable_password()
    # Nor by swapping accounts after the token went into the session.
    client.get(link_for(account, token))
    swapped = client.post(
        link_for(other, SET_PASSWORD), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert swapped.status_code == 410
    assert not User.objects.get(pk=other.pk).has_usable_password()


def test_a_password_reset_style_token_is_not_an_activation_token(client, account):
    from django.contrib.auth.tokens import default_token_generator

    issue(account)
    account.refresh_from_db()
    assert client.get(link_for(account, default_token_generator.make_token(account))).status_code == 410


def test_an_activated_or_deactivated_account_takes_no_link(client, therapist, account):
    url = issue(account)
    User.objects.filter(pk=account.pk).update(is_active=False)
    assert client.get(url).status_code == 410
    # An account that already has a password: its (forged-for-the-test) token does not open the form.
    therapist_token = activation_token.make_token(therapist)
    assert client.get(link_for(therapist, therapist_token)).status_code == 410


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


# --- Reveals nothing ------------------------------------------------------------------------------------


def test_every_unusable_link_gets_the_same_page(client, account, therapist):
    issue(account)
    nobody = reverse("account-activate", kwargs={"public_id": uuid.uuid4(), "token": "1-abc"})
    mangled = reverse("account-activate", kwargs={"public_id": "not-a-uuid", "token": "x"})
    responses = [
        client.get(link_for(account, "1-abc")),  # wrong token, real pending account
        client.get(nobody),
        client.get(link_for(therapist, "1-abc")),  # an activated account
        client.get(mangled),
        client.get(link_for(account, "no-dash-here-at-all")),
    ]
    bodies = {(r.status_code, r.content.decode()) for r in responses}
    assert len(bodies) == 1
    status, body = bodies.pop()
    assert status == 410 and "This link cannot be used" in body
    assert "florence" not in body and "therapist" not in body


# --- Rate ----------------------------------------------------------------------------------------------


def test_too_many_bad_links_from_one_address_are_asked_to_wait(client, account):
    good = issue(account)
    for _ in range(throttle.FAILURE_LIMIT):
        assert client.get(link_for(account, "1-abc")).status_code == 410
    blocked = client.get(good)
    assert blocked.status_code == 429 and "Please wait" in blocked.content.decode()
    # Another address is not affected.
    assert client.get(good, REMOTE_ADDR="192.0.2.7").status_code == 302
    assert not User.objects.get(pk=account.pk).has_usable_password()


def test_good_links_do_not_count_towards_the_limit(client, account):
    for _ in range(throttle.FAILURE_LIMIT + 1):
        assert client.get(issue(account)).status_code == 302
