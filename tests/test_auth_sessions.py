"""Session lifetimes: 15 minutes idle (sliding), browser close, 12 hours at most;
sign-out, password change and deactivation end sessions on the server.

Time is moved by backdating what the server stored (the session row's expiry,
the sign-in and touch times in the session), never by sleeping.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ipt_tracker import settings as production
from sessions_app.auth_middleware import SIGNED_IN_AT_SESSION_KEY, TOUCHED_AT_SESSION_KEY
from sessions_app.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db

HOME = reverse("therapist-home")


def sign_in(client: Client, user) -> None:
    response = client.post(reverse("login"), {"username": user.username, "password": factories.PASSWORD})
    assert response.status_code == 302


def session_row(client: Client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def expire_in(client: Client, delta: timedelta) -> None:
    """Set the stored session's expiry to now + delta."""
    Session.objects.filter(pk=client.session.session_key).update(expire_date=timezone.now() + delta)


def set_session_values(client: Client, **values) -> None:
    session = client.session
    session.update(values)
    session.save()


def test_session_settings_are_the_agreed_policy():
    assert production.SESSION_COOKIE_AGE == 15 * 60
    assert production.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert production.IPT_SESSION_MAX_AGE == 12 * 60 * 60
    assert production.IPT_SESSION_TOUCH_SECONDS < production.SESSION_COOKIE_AGE


def test_the_session_cookie_ends_with_the_browser(client, therapist):
    response = client.post(reverse("login"), {"username": "therapist", "password": factories.PASSWORD})

    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["expires"] == "" and cookie["max-age"] == ""


def test_signing_in_gives_a_new_session_id(client, therapist):
    client.get(reverse("login"))
    set_session_values(client, before="x")
    before = client.session.session_key

    sign_in(client, therapist)

    assert client.session.session_key != before


# --- Idle limit ---------------------------------------------------------------------------------------------


def test_an_idle_session_expires_on_the_server(client, therapist):
    sign_in(client, therapist)
    assert client.get(HOME).status_code == 200

    expire_in(client, -timedelta(seconds=1))

    response = client.get(HOME)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_fresh_session_expires_fifteen_minutes_after_sign_in(client, therapist):
    sign_in(client, therapist)

    left = session_row(client).expire_date - timezone.now()

    assert timedelta(minutes=14, seconds=50) < left <= timedelta(minutes=15)


def test_activity_slides_the_idle_limit(client, therapist):
    sign_in(client, therapist)
    # Signed in 10 minutes ago and nothing since: 5 minutes left.
    set_session_values(client, **{TOUCHED_AT_SESSION_KEY: int(time.time()) - 600})
    expire_in(client, timedelta(minutes=5))

    assert client.get(HOME).status_code == 200

    left = session_row(client).expire_date - timezone.now()
    assert left > timedelta(minutes=14, seconds=50)


def test_requests_within_a_minute_do_not_write_the_session(client, therapist):
    sign_in(client, therapist)
    expiry = session_row(client).expire_date

    client.get(HOME)

    assert session_row(client).expire_date == expiry


def test_the_ping_keeps_the_session_alive(client, therapist):
    sign_in(client, therapist)
    expire_in(client, timedelta(minutes=1))

    response = client.post(reverse("session-ping"))

    assert response.status_code == 200
    assert response.json() == {"idle_seconds": 15 * 60}
    assert session_row(client).expire_date - timezone.now() > timedelta(minutes=14, seconds=50)


def test_the_ping_is_post_only_and_for_signed_in_users(client, therapist):
    assert client.post(reverse("session-ping")).status_code == 302
    client.force_login(therapist)
    assert client.get(reverse("session-ping")).status_code == 405


def test_signed_in_pages_tell_the_script_the_time_left(client, therapist):
    sign_in(client, therapist)

    page = client.get(HOME).content.decode()

    body = re.search(r"<body([^>]*)>", page).group(1)
    left = int(re.search(r'data-idle-timeout="(\d+)"', body).group(1))
    assert 15 * 60 - 10 <= left <= 15 * 60
    assert 'data-idle-warning="120"' in body
    assert f'data-ping-url="{reverse("session-ping")}"' in body
    assert f'data-timeout-url="{reverse("session-timeout")}"' in body
    assert '<script src="/static/js/idle.js"></script>' in page


def test_the_sign_in_page_has_no_idle_script(client):
    page = client.get(reverse("login")).content.decode()

    assert "data-idle-timeout" not in page and "idle.js" not in page


def test_the_timeout_page_sends_a_signed_out_browser_to_sign_in_saying_why(client):
    response = client.get(reverse("session-timeout"), {"next": HOME}, follow=True)

    assert response.redirect_chain[-1][0] == f"{reverse('login')}?next=%2Ftherapist%2F"
    assert "signed out after 15 minutes without activity" in response.content.decode()


def test_the_timeout_page_returns_a_live_session_to_its_page(client, therapist):
    client.force_login(therapist)

    assert client.get(reverse("session-timeout"), {"next": HOME}).url == HOME
    assert client.get(reverse("session-timeout"), {"next": "//evil.example/"}).url == reverse("home")


# --- Absolute limit -----------------------------------------------------------------------------------------


def test_a_session_ends_twelve_hours_after_sign_in_however_active(client, therapist):
    sign_in(client, therapist)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    almost = int(time.time()) - 12 * 3600 + 60
    set_session_values(client, **{SIGNED_IN_AT_SESSION_KEY: almost})
    assert client.get(HOME).status_code == 200

    set_session_values(client, **{SIGNED_IN_AT_SESSION_KEY: almost - 120})
    response = client.get(HOME, follow=True)

    assert response.redirect_chain[0][0] == f"{reverse('login')}?next=%2Ftherapist%2F"
    assert "session reached its time limit" in response.content.decode()
    assert not Session.objects.filter(session_key=cookie).exists()
    assert AuditEvent.objects.filter(user=therapist, action=AuditEvent.Action.LOGOUT).exists()


def test_a_session_without_a_sign_in_time_is_ended(client, therapist):
    client.force_login(therapist)
    session = client.session
    del session[SIGNED_IN_AT_SESSION_KEY]
    session.save()

    assert client.get(HOME).status_code == 302
    assert SESSION_KEY not in client.session


# --- Ending sessions ----------------------------------------------------------------------------------------


def test_signing_out_ends_the_session_on_the_server(client, therapist):
    sign_in(client, therapist)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value

    client.post(reverse("logout"))

    assert not Session.objects.filter(session_key=cookie).exists()
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert replay.get(HOME).status_code == 302


def test_a_password_change_ends_every_other_session_of_the_user(therapist):
    here, elsewhere = Client(), Client()
    sign_in(here, therapist)
    sign_in(elsewhere, therapist)
    assert elsewhere.get(HOME).status_code == 200

    response = here.post(
        reverse("password_change"),
        {
            "old_password": factories.PASSWORD,
            "new_password1": "a-new-long-passphrase-2026",
            "new_password2": "a-new-long-passphrase-2026",
        },
    )

    assert response.status_code == 302
    assert here.get(HOME).status_code == 200  # the session that changed it goes on
    gone = elsewhere.get(HOME)
    assert gone.status_code == 302 and gone.url.startswith(reverse("login"))


def test_a_deactivated_user_is_signed_out_on_their_next_request(client, therapist):
    sign_in(client, therapist)
    assert client.get(HOME).status_code == 200

    therapist.is_active = False
    therapist.save(update_fields=["is_active"])

    response = client.get(HOME)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    again = client.post(reverse("login"), {"username": "therapist", "password": factories.PASSWORD})
    assert again.status_code == 200  # ModelBackend refuses inactive accounts
