"""Staff accounts: a clinic admin creates, deactivates and reactivates their clinic's therapists and admins.

Rules under test: only clinic admins use these pages (therapists and patients
get 403) and only for their own clinic's staff (another clinic's admin gets
404); nobody chooses a password for someone else (a new account waits for its
activation link); an admin cannot deactivate themselves; deactivating a
therapist with active patients lists them and needs a confirmation; accounts
are never deleted; a deactivated account cannot sign in and its open session
ends; every change is audited.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from sessions_app.models import AuditEvent, User
from sessions_app.services import accounts as account_services
from sessions_app.tokens import LinkState, activation_token
from tests import factories

pytestmark = pytest.mark.django_db

NEW_STAFF = {
    "first_name": "Mary",
    "last_name": "Seacole",
    "username": "mseacole",
    "email": "mary@example.test",
    "role": User.Role.THERAPIST,
}


@pytest.fixture(autouse=True)
def _fresh_throttle():
    # The activation page's failure counter lives in the cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()


def signed_in(client, user):
    client.force_login(user)
    return client


def token_from(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def pending_staff(clinic, username="pending") -> User:
    return account_services.staff_create(
        clinic=clinic,
        role=User.Role.THERAPIST,
        username=username,
        first_name="Pat",
        last_name="Pending",
        email=f"{username}@example.test",
    )


# --- Who may use the pages ------------------------------------------------------------------------------


def staff_urls(member: User) -> list[tuple[str, str]]:
    return [
        ("get", reverse("clinic-staff")),
        ("get", reverse("clinic-staff-new")),
        ("post", reverse("clinic-staff-new")),
        ("get", reverse("clinic-staff-deactivate", args=[member.public_id])),
        ("post", reverse("clinic-staff-deactivate", args=[member.public_id])),
        ("post", reverse("clinic-staff-reactivate", args=[member.public_id])),
        ("post", reverse("clinic-staff-link", args=[member.public_id])),
    ]


@pytest.mark.parametrize("persona", ["therapist", "other_therapist", "patient_user"])
def test_staff_pages_are_forbidden_to_other_roles(client, request, persona, other_therapist):
    signed_in(client, request.getfixturevalue(persona))
    for method, url in staff_urls(other_therapist):
        assert getattr(client, method)(url, NEW_STAFF).status_code == 403, url
    assert not User.objects.filter(username="mseacole").exists()
    assert User.objects.get(pk=other_therapist.pk).is_active


def test_staff_pages_need_sign_in(client, therapist):
    for method, url in staff_urls(therapist):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


def test_another_clinics_admin_gets_404_for_this_clinics_staff(client, other_clinic_admin, therapist):
    signed_in(client, other_clinic_admin)
    for method, url in staff_urls(therapist)[3:]:
        assert getattr(client, method)(url).status_code == 404, url
    assert User.objects.get(pk=therapist.pk).is_active


def test_staff_list_shows_the_clinics_staff_only(
    client, clinic_admin, therapist, other_therapist, patient, other_clinic_admin
):
    factories.PatientFactory(clinic=therapist.clinic, therapist=therapist)
    response = signed_in(client, clinic_admin).get(reverse("clinic-staff"))
    assert response.status_code == 200
    listed = {member.username for member in response.context["staff"]}
    assert listed == {"therapist", "other-therapist", "clinic-admin"}
    html = response.content.decode()
    assert 'data-testid="staff-therapist"' in html
    assert "other-clinic-admin" not in html and 'data-testid="staff-patient"' not in html
    counts = {m.username: m.active_patients for m in response.context["staff"]}
    assert counts["therapist"] == 2 and counts["other-therapist"] == 0
    assert AuditEvent.objects.filter(
        user=clinic_admin, action=AuditEvent.Action.LIST, object_type="User"
    ).exists()


def test_staff_list_shows_each_accounts_state_and_actions(client, clinic_admin, therapist):
    pending = pending_staff(clinic_admin.clinic)
    gone = factories.TherapistFactory(clinic=clinic_admin.clinic, username="gone", is_active=False)
    html = signed_in(client, clinic_admin).get(reverse("clinic-staff")).content.decode()
    assert "Waiting for activation" in html and "Deactivated" in html
    assert reverse("clinic-staff-link", args=[pending.public_id]) in html
    assert reverse("clinic-staff-link", args=[therapist.public_id]) not in html
    assert reverse("clinic-staff-reactivate", args=[gone.public_id]) in html
    # No action on one's own account.
    assert reverse("clinic-staff-deactivate", args=[clinic_admin.public_id]) not in html


# Pinned; the same for 3 and 30 staff:
#   1. SELECT the session row    2. SELECT the signed-in user
#   3. INSERT the "list" audit row
#   4. SELECT the user's clinic (page title and header)
#   5. SELECT the staff with their active-patient count (one GROUP BY query)
STAFF_LIST_QUERIES = 5


@pytest.mark.parametrize("extra_staff", [0, 27])
def test_staff_list_query_count_is_pinned(
    client, clinic_admin, therapist, other_therapist, django_assert_num_queries, extra_staff
):
    for n in range(extra_staff):
        member = factories.TherapistFactory(clinic=clinic_admin.clinic, username=f"t{n}")
        factories.PatientFactory(clinic=clinic_admin.clinic, therapist=member)
    signed_in(client, clinic_admin)
    with django_assert_num_queries(STAFF_LIST_QUERIES):
        response = client.get(reverse("clinic-staff"))
    assert response.status_code == 200
    assert len(response.context["staff"]) == 3 + extra_staff


# --- Creating an account --------------------------------------------------------------------------------


def test_admin_creates_a_therapist_who_sets_their_own_password(client, clinic_admin):
    response = signed_in(client, clinic_admin).post(reverse("clinic-staff-new"), NEW_STAFF)
    assert response.status_code == 302 and response.url == reverse("account-link-shown")

    user = User.objects.get(username="mseacole")
    assert (user.clinic, user.role) == (clinic_admin.clinic, User.Role.THERAPIST)
    assert user.email == NEW_STAFF["email"]
    assert user.get_full_name() == "Mary Seacole"
    assert user.is_active and not user.has_usable_password()
    assert not user.is_staff and not user.is_superuser

    # The link is emailed, and shown to the admin once.
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["mary@example.test"]
    shown = client.get(response.url)
    link = shown.context["issued"]["url"]
    assert link in email.body and "mseacole" in email.body
    assert link in shown.content.decode()
    assert activation_token.state(user, token_from(link)) is LinkState.VALID
    again = client.get(reverse("account-link-shown"))
    assert again.context["issued"] is None and link not in again.content.decode()

    actions = set(
        AuditEvent.objects.filter(user=clinic_admin, object_id=str(user.public_id)).values_list(
            "action", "object_type"
        )
    )
    assert actions == {(AuditEvent.Action.CREATE, "User"), (AuditEvent.Action.CREATE, "ActivationLink")}


def test_admin_creates_another_clinic_admin(client, clinic_admin):
    signed_in(client, clinic_admin).post(reverse("clinic-staff-new"), {**NEW_STAFF, "role": "clinic_admin"})
    assert User.objects.get(username="mseacole").role == User.Role.CLINIC_ADMIN


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"first_name": ""}, "first_name", "This field is required."),
        ({"last_name": ""}, "last_name", "This field is required."),
        ({"username": ""}, "username", "This field is required."),
        ({"email": ""}, "email", "This field is required."),
        ({"role": ""}, "role", "This field is required."),
        ({"email": "not-an-address"}, "email", "Enter a valid email address."),
        ({"username": "has space"}, "username", "Enter a valid username."),
        ({"username": "THERAPIST"}, "username", "This username is already taken: choose another."),
        ({"role": "patient"}, "role", "Select a valid choice."),
        ({"username": "x" * 151}, "username", "Ensure this value has at most 150 characters"),
    ],
)
def test_create_staff_form_errors_keep_what_was_typed(
    client, clinic_admin, therapist, changes, field, message
):
    data = {**NEW_STAFF, **changes}
    response = signed_in(client, clinic_admin).post(reverse("clinic-staff-new"), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in errors[field][0]
    html = response.content.decode()
    for key, typed in data.items():
        if key != "role" and typed:
            assert f'value="{typed}"' in html, key
    assert User.objects.count() == 2 and not mail.outbox


# --- Deactivating and reactivating ----------------------------------------------------------------------


def test_deactivating_a_therapist_without_patients(client, clinic_admin, other_therapist):
    signed_in(client, clinic_admin)
    page = client.get(reverse("clinic-staff-deactivate", args=[other_therapist.public_id]))
    assert page.status_code == 200 and "confirm_patients" not in page.context["form"].fields
    response = client.post(reverse("clinic-staff-deactivate", args=[other_therapist.public_id]))
    assert response.status_code == 302 and response.url == reverse("clinic-staff")
    other_therapist.refresh_from_db()
    assert not other_therapist.is_active
    assert User.objects.filter(pk=other_therapist.pk).exists()  # never deleted
    assert AuditEvent.objects.filter(
        user=clinic_admin, action=AuditEvent.Action.UPDATE, object_id=str(other_therapist.public_id)
    ).exists()


def test_deactivating_a_therapist_with_active_patients_lists_them_and_needs_confirmation(
    client, clinic_admin, therapist, patient
):
    archived = factories.PatientFactory(clinic=therapist.clinic, therapist=therapist, given_name="Archie")
    archived.archived_at = archived.created_at
    archived.save()
    signed_in(client, clinic_admin)
    url = reverse("clinic-staff-deactivate", args=[therapist.public_id])
    page = client.get(url)
    assert page.context["active_patients"] == [patient]
    html = page.content.decode()
    assert "Ada Lovelace" in html and "Archie" not in html
    assert reverse("patient-reassign", args=[patient.public_id]) in html
    # The warning names patients: one list row each, in the audit trail.
    assert AuditEvent.objects.filter(
        user=clinic_admin, action=AuditEvent.Action.LIST, patient_public_id=patient.public_id
    ).exists()

    refused = client.post(url)
    assert refused.status_code == 200
    assert "tick the box" in refused.context["form"].errors["confirm_patients"][0]
    therapist.refresh_from_db()
    assert therapist.is_active

    client.post(url, {"confirm_patients": "on"})
    therapist.refresh_from_db()
    assert not therapist.is_active
    patient.refresh_from_db()
    assert patient.therapist_id == therapist.pk  # still theirs until reassigned


def test_an_admin_cannot_deactivate_themselves(client, clinic_admin):
    signed_in(client, clinic_admin)
    response = client.post(reverse("clinic-staff-deactivate", args=[clinic_admin.public_id]), follow=True)
    assert "cannot deactivate your own account" in response.content.decode()
    clinic_admin.refresh_from_db()
    assert clinic_admin.is_active


def test_a_deactivated_user_cannot_sign_in_and_their_session_ends(client, clinic_admin, therapist):
    therapist_client = client.__class__()
    therapist_client.force_login(therapist)
    assert therapist_client.get(reverse("therapist-home")).status_code == 200

    signed_in(client, clinic_admin).post(reverse("clinic-staff-deactivate", args=[therapist.public_id]))

    ended = therapist_client.get(reverse("therapist-home"))
    assert ended.status_code == 302 and ended.url.startswith(reverse("login"))
    fresh = client.__class__()
    response = fresh.post(reverse("login"), {"username": "therapist", "password": factories.PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in fresh.session
    assert response.context["form"].non_field_errors()


def test_reactivating_restores_sign_in(client, clinic_admin, therapist):
    signed_in(client, clinic_admin)
    client.post(reverse("clinic-staff-deactivate", args=[therapist.public_id]))
    response = client.post(reverse("clinic-staff-reactivate", args=[therapist.public_id]))
    assert response.status_code == 302
    therapist.refresh_from_db()
    assert therapist.is_active
    fresh = client.__class__()
    fresh.post(reverse("login"), {"username": "therapist", "password": factories.PASSWORD})
    assert fresh.session.get("_auth_user_id") == str(therapist.pk)
    assert (
        AuditEvent.objects.filter(
            user=clinic_admin, action=AuditEvent.Action.UPDATE, object_id=str(therapist.public_id)
        ).count()
        == 2
    )


def test_reactivate_and_new_link_answer_post_only(client, clinic_admin, therapist):
    signed_in(client, clinic_admin)
    assert client.get(reverse("clinic-staff-reactivate", args=[therapist.public_id])).status_code == 405
    assert client.get(reverse("clinic-staff-link", args=[therapist.public_id])).status_code == 405


def test_deactivating_a_pending_account_voids_its_link(client, clinic_admin):
    pending = pending_staff(clinic_admin.clinic)
    issued = account_services.activation_link_issue(user=pending, absolute_uri=lambda path: path)
    signed_in(client, clinic_admin).post(reverse("clinic-staff-deactivate", args=[pending.public_id]))
    response = client.__class__().get(issued.url)
    assert response.status_code == 410


# --- New activation link for a staff member -------------------------------------------------------------


def test_a_new_staff_link_replaces_the_old_one(client, clinic_admin):
    pending = pending_staff(clinic_admin.clinic)
    first = account_services.activation_link_issue(user=pending, absolute_uri=lambda path: path)
    response = signed_in(client, clinic_admin).post(reverse("clinic-staff-link", args=[pending.public_id]))
    assert response.status_code == 302
    second = client.get(response.url).context["issued"]["url"]
    pending.refresh_from_db()
    assert activation_token.state(pending, token_from(first.url)) is LinkState.INVALID
    assert activation_token.state(pending, token_from(second)) is LinkState.VALID
    assert mail.outbox[-1].to == ["pending@example.test"] and second in mail.outbox[-1].body


def test_no_new_link_for_an_activated_account(client, clinic_admin, therapist):
    signed_in(client, clinic_admin)
    response = client.post(reverse("clinic-staff-link", args=[therapist.public_id]), follow=True)
    assert "not waiting for activation" in response.content.decode()
    assert not mail.outbox
    therapist.refresh_from_db()
    assert therapist.check_password(factories.PASSWORD)
