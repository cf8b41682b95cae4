"""Passwords: Argon2 first, at least 12 characters, not common, not like the account's details.

The test settings hash with MD5 for speed, so the hashing tests switch to the
production list read from `ipt_tracker.settings`.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import identify_hasher, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from ipt_tracker import settings as production
from sessions_app.models import AuditEvent, User
from tests import factories

pytestmark = pytest.mark.django_db

ARGON2 = "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_production_hashes_new_passwords_with_argon2(settings):
    assert production.PASSWORD_HASHERS[0] == ARGON2
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS

    encoded = make_password("a long enough passphrase")

    assert identify_hasher(encoded).algorithm == "argon2"


def test_an_older_pbkdf2_hash_is_upgraded_to_argon2_at_sign_in(client, settings):
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    user = factories.TherapistFactory(username="old-hash")
    user.password = make_password(factories.PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])

    response = client.post(reverse("login"), {"username": "old-hash", "password": factories.PASSWORD})

    assert response.status_code == 302
    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm == "argon2"


def _codes(password: str, user: User | None = None) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        validate_password(password, user)
    return {error.code for error in caught.value.error_list}


def test_a_password_under_twelve_characters_is_refused():
    assert "password_too_short" in _codes("Tr0ub4dor&3")  # 11 characters
    validate_password("Tr0ub4dor&3x")  # 12 are enough


def test_a_common_password_is_refused():
    assert "password_too_common" in _codes("password1234")


def test_a_password_like_the_username_is_refused():
    user = factories.TherapistFactory.build(username="margaretthatcher", first_name="Margaret")

    assert "password_too_similar" in _codes("margaretthatcher1", user)


def test_an_all_digit_password_is_refused():
    assert "password_entirely_numeric" in _codes("583920174658")


def test_the_password_change_page_applies_the_rules(client, therapist):
    client.force_login(therapist)

    response = client.post(
        reverse("password_change"),
        {"old_password": factories.PASSWORD, "new_password1": "short1", "new_password2": "short1"},
    )

    assert response.status_code == 200
    assert "at least 12 characters" in response.content.decode()
    therapist.refresh_from_db()
    assert therapist.check_password(factories.PASSWORD)


def test_a_password_change_is_audited_without_the_password(client, therapist):
    client.force_login(therapist)
    new_password = "a-much-longer-passphrase-2026"

    response = client.post(
        reverse("password_change"),
        {"old_password": factories.PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE, object_type="Password")
    assert event.user == therapist
    assert new_password not in str(vars(event))


def test_a_refused_password_change_writes_no_change_row(client, therapist):
    client.force_login(therapist)
    client.post(
        reverse("password_change"),
        {"old_password": "wrong-old-password", "new_password1": "x" * 14, "new_password2": "x" * 14},
    )
    assert not AuditEvent.objects.filter(object_type="Password").exists()
