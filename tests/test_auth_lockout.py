"""Sign-in lockout (django-axes): 5 failures lock a username for 15 minutes.

Lockout is by username and by username+IP (AXES_LOCKOUT_PARAMETERS), so a
guesser cannot dodge it by changing address, and one person's typos never lock
anyone else out from a shared clinic address. Time is moved by backdating
axes' attempt rows, never by sleeping.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from ipt_tracker import settings as production
from sessions_app.client_ip import client_ip
from sessions_app.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db

LIMIT = 5


def sign_in(client: Client, username: str, password: str, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def fail(client: Client, username: str, times: int, **extra) -> list[int]:
    return [sign_in(client, username, "not-the-password", **extra).status_code for _ in range(times)]


def test_lockout_settings_are_the_agreed_policy():
    assert production.AXES_FAILURE_LIMIT == LIMIT
    assert production.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert production.AXES_LOCKOUT_PARAMETERS == ["username", ["username", "ip_address"]]
    assert production.AXES_RESET_ON_SUCCESS is True
    assert production.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert production.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_the_fifth_failure_locks_and_then_the_right_password_is_refused(client, therapist):
    assert fail(client, "therapist", LIMIT - 1) == [200] * (LIMIT - 1)

    locked = sign_in(client, "therapist", "not-the-password")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Sign-in paused" in page
    assert "paused for 15 minutes" in page

    refused = sign_in(client, "therapist", factories.PASSWORD)
    assert refused.status_code == 429
    assert SESSION_KEY not in client.session


def test_the_lock_follows_the_username_to_another_address(client, therapist):
    fail(client, "therapist", LIMIT)

    elsewhere = Client(REMOTE_ADDR="198.51.100.7")

    assert sign_in(elsewhere, "therapist", factories.PASSWORD).status_code == 429


def test_another_user_at_the_same_address_still_signs_in(client, therapist, other_therapist):
    fail(client, "therapist", LIMIT)

    response = sign_in(Client(), "other-therapist", factories.PASSWORD)

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_the_lock_lifts_after_fifteen_minutes(client, therapist):
    fail(client, "therapist", LIMIT)

    locked_at = AccessAttempt.objects.get().attempt_time
    AccessAttempt.objects.update(attempt_time=locked_at - timedelta(minutes=14))
    assert sign_in(client, "therapist", factories.PASSWORD).status_code == 429

    AccessAttempt.objects.update(attempt_time=locked_at - timedelta(minutes=16))
    assert sign_in(client, "therapist", factories.PASSWORD).status_code == 302


def test_tries_during_the_lock_do_not_extend_it(client, therapist):
    fail(client, "therapist", LIMIT)
    locked_at = AccessAttempt.objects.get().attempt_time

    fail(client, "therapist", 3)

    assert AccessAttempt.objects.get().attempt_time == locked_at


def test_a_successful_sign_in_clears_the_count(client, therapist):
    fail(client, "therapist", LIMIT - 1)
    assert sign_in(client, "therapist", factories.PASSWORD).status_code == 302
    client.post(reverse("logout"))

    assert fail(client, "therapist", LIMIT - 1) == [200] * (LIMIT - 1)
    assert sign_in(client, "therapist", factories.PASSWORD).status_code == 302


def test_a_lockout_is_one_audit_row_and_each_refused_try_a_failed_login(client, therapist):
    fail(client, "therapist", LIMIT)
    sign_in(client, "therapist", factories.PASSWORD)

    lockouts = AuditEvent.objects.filter(action=AuditEvent.Action.LOCKOUT)
    assert [(e.username, e.ip, e.clinic_id) for e in lockouts] == [
        ("therapist", "127.0.0.1", therapist.clinic_id)
    ]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).count() == LIMIT + 1
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN).exists()


@pytest.mark.parametrize("length", [151, 256, 300, 5000])
def test_an_overlong_username_is_a_form_error_not_a_server_error(client, length):
    # django-axes stores usernames in a 255-character column: PostgreSQL refused
    # longer ones with a 500 before the form checked the length.
    response = sign_in(client, "x" * length, "whatever-password")

    assert response.status_code == 200
    assert "Ensure this value has at most 150 characters" in response.content.decode()
    assert not AccessAttempt.objects.exists()


def test_a_150_character_username_is_an_ordinary_failure(client):
    response = sign_in(client, "y" * 150, "whatever-password")

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert AccessAttempt.objects.get().username == "y" * 150


def test_behind_a_proxy_the_lock_counts_the_client_address(client, therapist, settings):
    settings.IPT_TRUSTED_PROXY_COUNT = 1
    # The proxy (10.0.0.2) appends the address it saw; the first entry was typed by the client.
    via_proxy = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "192.0.2.99, 203.0.113.5"}

    fail(client, "therapist", LIMIT, **via_proxy)

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}
    assert AuditEvent.objects.get(action=AuditEvent.Action.LOCKOUT).ip == "203.0.113.5"


def test_without_a_proxy_forwarded_headers_are_ignored(client, therapist):
    assert settings.IPT_TRUSTED_PROXY_COUNT == 0

    fail(client, "therapist", 1, HTTP_X_FORWARDED_FOR="203.0.113.5")

    assert AccessAttempt.objects.get().ip_address == "127.0.0.1"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "spoofed, 203.0.113.5", "203.0.113.5"),
        (2, "192.0.2.1, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        (2, "203.0.113.5", "10.0.0.2"),  # fewer hops than proxies: the direct peer
        (1, "not-an-address", "10.0.0.2"),  # never a value the inet column would refuse
        (1, "", "10.0.0.2"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address_trusts_only_our_own_proxies(rf, settings, proxies, forwarded, expected):
    settings.IPT_TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected
