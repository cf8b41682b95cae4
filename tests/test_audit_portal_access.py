"""The portal's "Who has viewed my record": staff accesses to my record, and nothing else."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db

URL = reverse("portal-access-log")


def signed_in(client, user):
    client.force_login(user)
    return client


def access(user, patient, action=AuditEvent.Action.VIEW, *, days_ago: int = 0) -> AuditEvent:
    row = factories.AuditEventFactory(
        user=user, action=action, patient_public_id=patient.public_id, object_id=str(patient.public_id)
    )
    if days_ago:
        AuditEvent.objects.filter(pk=row.pk).update(at=timezone.now() - dt.timedelta(days=days_ago))
    return row


def lines(response) -> list[dict]:
    return response.context["lines"]


def test_staff_opening_the_record_is_listed_with_date_role_and_name(client, therapist, patient, patient_user):
    therapist.first_name, therapist.last_name = "Tess", "Ward"
    therapist.save()
    signed_in(client, therapist).get(reverse("patient-detail", kwargs={"public_id": patient.public_id}))
    response = signed_in(client, patient_user).get(URL)
    assert response.status_code == 200
    [line] = lines(response)
    assert (line["name"], line["role"], line["what"]) == ("Tess Ward", "Therapist", "Opened your record")
    assert line["day"] == timezone.localdate()
    html = response.content.decode()
    assert "Tess Ward" in html and "Opened your record" in html


def test_lists_exports_and_emergency_access_are_listed_too(
    client, therapist, clinic_admin, patient, patient_user
):
    access(therapist, patient, AuditEvent.Action.LIST, days_ago=3)
    access(clinic_admin, patient, AuditEvent.Action.EXPORT, days_ago=2)
    access(therapist, patient, AuditEvent.Action.EMERGENCY_ACCESS, days_ago=1)
    whats = [line["what"] for line in lines(signed_in(client, patient_user).get(URL))]
    assert whats == [
        "Opened your record using emergency access",
        "Included you in an export",
        "Saw your name in a list of patients",
    ]


def test_a_dashboard_listing_is_an_access(client, therapist, patient, patient_user):
    factories.CourseFactory(patient=patient)
    signed_in(client, therapist).get(reverse("therapist-home"))
    assert [line["what"] for line in lines(signed_in(client, patient_user).get(URL))] == [
        "Saw your name in a list of patients"
    ]


def test_repeats_on_one_day_are_one_line_with_a_count(client, therapist, patient, patient_user):
    for _ in range(3):
        access(therapist, patient, AuditEvent.Action.LIST)
    response = signed_in(client, patient_user).get(URL)
    assert [line["times"] for line in lines(response)] == [1 + 2]
    assert "3 times" in response.content.decode()


def test_nothing_else_is_listed(
    client, therapist, other_therapist, clinic_admin, patient, other_patient, patient_user
):
    """Not the patient's own visits, not denials or edits, and never another patient's accesses."""
    access(other_therapist, other_patient)
    access(clinic_admin, other_patient, AuditEvent.Action.LIST)
    access(therapist, patient, AuditEvent.Action.DENIED)
    access(therapist, patient, AuditEvent.Action.UPDATE)
    access(patient_user, patient, AuditEvent.Action.VIEW)
    response = signed_in(client, patient_user).get(URL)
    assert lines(response) == []
    assert "Grace" not in response.content.decode()
    assert "No member of staff has opened your record yet." in response.content.decode()


def test_another_patient_sees_only_their_own(client, therapist, patient, other_patient_user, other_patient):
    access(therapist, patient)
    assert lines(signed_in(client, other_patient_user).get(URL)) == []


def test_reading_the_page_is_audited_and_not_listed_back(client, patient, patient_user):
    signed_in(client, patient_user).get(URL)
    row = AuditEvent.objects.get(action=AuditEvent.Action.VIEW, user=patient_user)
    assert (row.object_type, row.patient_public_id, row.path) == ("AuditEvent", patient.public_id, URL)
    assert lines(client.get(URL)) == []


@pytest.mark.parametrize("persona", ["therapist", "clinic_admin"])
def test_staff_cannot_open_it(client, request, persona):
    assert signed_in(client, request.getfixturevalue(persona)).get(URL).status_code == 403


def test_it_is_get_only(client, patient, patient_user):
    assert signed_in(client, patient_user).post(URL).status_code == 405


def test_a_portal_account_without_a_record_sees_an_empty_page(client, clinic):
    lonely = factories.PortalUserFactory(clinic=clinic)
    response = signed_in(client, lonely).get(URL)
    assert response.status_code == 200 and lines(response) == []


def test_pages_of_25_and_a_bad_page_number_explained(client, therapist, patient, patient_user):
    for day in range(30):
        access(therapist, patient, days_ago=day + 1)
    signed_in(client, patient_user)
    assert len(lines(client.get(URL))) == 25
    assert len(lines(client.get(URL, {"page": "2"}))) == 5
    response = client.get(URL, {"page": "zz"})
    assert response.status_code == 200 and len(lines(response)) == 25
    assert "There is no page “zz”: showing page 1." in response.content.decode()


# The session, the user, the patient, the COUNT of lines, the page of lines (names joined),
# the VIEW audit row, the clinic name in the header.
QUERIES = 7


@pytest.mark.parametrize("n", [2, 60])
def test_query_count_is_fixed(
    client, therapist, clinic_admin, patient, patient_user, django_assert_num_queries, n
):
    for day in range(n):
        access(therapist if day % 2 else clinic_admin, patient, days_ago=day)
    signed_in(client, patient_user)
    with django_assert_num_queries(QUERIES):
        response = client.get(URL)
    assert response.status_code == 200 and lines(response)
