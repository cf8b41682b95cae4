"""The clinic admin's audit log: own clinic only, filters, bad input, pages, CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db

URL = reverse("clinic-audit-log")
EXPORT = reverse("clinic-audit-export")


def signed_in(client, user):
    client.force_login(user)
    return client


def event(user, *, at=None, patient=None, action=AuditEvent.Action.VIEW, **extra) -> AuditEvent:
    row = factories.AuditEventFactory(
        user=user,
        action=action,
        patient_public_id=patient.public_id if patient else None,
        object_id=str(patient.public_id) if patient else "",
        path="/somewhere/",
        **extra,
    )
    if at is not None:
        AuditEvent.objects.filter(pk=row.pk).update(at=at)
        row.refresh_from_db()
    return row


def shown(response) -> list[AuditEvent]:
    """The rows the page shows, minus the LIST row the page itself wrote."""
    return list(response.context["events"])


def ids(response) -> set[int]:
    return {e.pk for e in shown(response)}


def ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


# --- Who may read it ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["therapist", "patient_user"])
@pytest.mark.parametrize("url", [URL, EXPORT])
def test_only_clinic_admins_read_the_log(client, request, persona, url):
    assert signed_in(client, request.getfixturevalue(persona)).get(url).status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_log_is_get_only(client, clinic_admin):
    assert signed_in(client, clinic_admin).post(URL).status_code == 405


def test_an_admin_sees_their_own_clinic_only(client, clinic_admin, other_clinic_admin, therapist, patient):
    mine = event(therapist, patient=patient)
    theirs = event(other_clinic_admin)
    response = signed_in(client, clinic_admin).get(URL)
    assert mine.pk in ids(response) and theirs.pk not in ids(response)
    other = signed_in(client, other_clinic_admin).get(URL)
    assert mine.pk not in ids(other)


def test_rows_show_who_what_and_the_patients_name(client, clinic_admin, therapist, patient):
    event(therapist, patient=patient)
    html = signed_in(client, clinic_admin).get(URL).content.decode()
    assert "Ada Lovelace" in html and "therapist" in html and "View" in html


def test_another_clinics_patient_name_never_appears(client, clinic_admin, therapist, other_clinic):
    stranger = factories.PatientFactory(clinic=other_clinic, given_name="Zed", family_name="Stranger")
    event(therapist, patient=stranger)
    html = signed_in(client, clinic_admin).get(URL).content.decode()
    assert "Stranger" not in html


def test_reading_the_log_is_audited(client, clinic_admin):
    signed_in(client, clinic_admin).get(URL)
    row = AuditEvent.objects.get(action=AuditEvent.Action.LIST)
    assert (row.user, row.object_type, row.path) == (clinic_admin, "AuditEvent", URL)


# --- Filters -----------------------------------------------------------------------------------


def test_filter_by_user_includes_failed_sign_ins_typed_with_their_username(
    client, clinic_admin, therapist, other_therapist
):
    own = event(therapist)
    other = event(other_therapist)
    client.post(reverse("login"), {"username": "therapist", "password": "wrong-password-here"})
    failed = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_FAILED)
    assert failed.clinic_id == therapist.clinic_id  # filed under the account's clinic
    response = signed_in(client, clinic_admin).get(URL, {"user": str(therapist.public_id)})
    assert own.pk in ids(response) and failed.pk in ids(response) and other.pk not in ids(response)


def test_filter_by_patient_record_id(client, clinic_admin, therapist, patient, other_patient):
    ada = event(therapist, patient=patient)
    grace = event(therapist, patient=other_patient)
    response = signed_in(client, clinic_admin).get(URL, {"patient": str(patient.public_id)})
    assert ids(response) == {ada.pk}
    assert grace.pk not in ids(response)


def test_filter_by_patient_name_within_the_clinic(client, clinic_admin, therapist, patient, other_patient):
    ada = event(therapist, patient=patient)
    event(therapist, patient=other_patient)
    response = signed_in(client, clinic_admin).get(URL, {"patient": "lovel"})
    assert ids(response) == {ada.pk}


def test_reading_one_patients_access_history_is_audited_against_them(client, clinic_admin, patient):
    signed_in(client, clinic_admin).get(URL, {"patient": "Ada Lovelace"})
    row = AuditEvent.objects.get(action=AuditEvent.Action.LIST, user=clinic_admin)
    assert row.patient_public_id == patient.public_id


def test_a_patient_search_without_a_match_says_so(client, clinic_admin, therapist, patient):
    event(therapist, patient=patient)
    response = signed_in(client, clinic_admin).get(URL, {"patient": "Nobody"})
    assert ids(response) == set()
    assert "No patient of this clinic matches “Nobody”." in response.content.decode()


def test_another_clinics_patient_id_matches_nothing(client, clinic_admin, other_clinic, therapist):
    stranger = factories.PatientFactory(clinic=other_clinic)
    event(therapist, patient=stranger)
    response = signed_in(client, clinic_admin).get(URL, {"patient": str(stranger.public_id)})
    assert ids(response) == set()


def test_filter_by_action(client, clinic_admin, therapist):
    view = event(therapist, action=AuditEvent.Action.VIEW)
    export = event(therapist, action=AuditEvent.Action.EXPORT)
    response = signed_in(client, clinic_admin).get(URL, {"action": "export"})
    assert export.pk in ids(response) and view.pk not in ids(response)


def test_any_date_range_with_both_ends_inclusive(client, clinic_admin, therapist):
    """No three-month window: a range over two years back works, and both end days count."""
    old = event(therapist, at=ago(700))
    older = event(therapist, at=ago(900))
    recent = event(therapist, at=ago(1))
    day = timezone.localtime(old.at).date()
    response = signed_in(client, clinic_admin).get(
        URL, {"date_from": day.isoformat(), "date_to": day.isoformat()}
    )
    assert ids(response) == {old.pk}
    response = client.get(URL, {"date_from": (day - dt.timedelta(days=365)).isoformat()})
    assert {old.pk, older.pk, recent.pk} <= ids(response)
    response = client.get(URL, {"date_to": (day - dt.timedelta(days=1)).isoformat()})
    assert ids(response) == {older.pk}


# --- Bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "notice"),
    [
        ({"date_from": "31/02/2026"}, "“31/02/2026” is not a date: no start date applied."),
        (
            {"date_to": "yesterday"},
            "“yesterday” is not a date (or is before the start date): no end date applied.",
        ),
        ({"action": "hack"}, "Unknown action “hack”: showing every action."),
        ({"user": "not-a-uuid"}, "“not-a-uuid” is not an account of this clinic: showing everyone."),
        ({"page": "abc"}, "“abc” is not a page number: showing page 1."),
    ],
)
def test_bad_filter_values_get_a_message_not_a_crash(client, clinic_admin, therapist, params, notice):
    row = event(therapist)
    response = signed_in(client, clinic_admin).get(URL, params)
    assert response.status_code == 200
    assert notice in [str(n) for n in response.context["filters"].notices]
    assert row.pk in ids(response)  # the bad value is left out, the rest still works
    # What was typed stays in the form.
    name, value = next(iter(params.items()))
    if name != "page":
        assert response.context["form"][name].value() == value


def test_an_end_before_the_start_is_explained_at_the_field(client, clinic_admin, therapist):
    inside = event(therapist, at=ago(10))
    before = event(therapist, at=ago(40))
    start, end = (timezone.localdate() - dt.timedelta(days=d) for d in (30, 60))
    response = signed_in(client, clinic_admin).get(URL, {"date_from": start.isoformat(), "date_to": end})
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()
    assert response.context["filters"].date_to is None
    # The start date still applies; the typed end date stays in its box.
    assert inside.pk in ids(response) and before.pk not in ids(response)
    assert response.context["form"]["date_to"].value() == end.isoformat()


def test_another_clinics_account_is_not_a_choice(client, clinic_admin, other_clinic_admin):
    response = signed_in(client, clinic_admin).get(URL, {"user": str(other_clinic_admin.public_id)})
    assert response.status_code == 200
    assert response.context["filters"].user is None
    assert any("is not an account of this clinic" in n for n in response.context["filters"].notices)


def test_a_page_past_the_end_shows_the_last_page(client, clinic_admin, therapist):
    event(therapist)
    response = signed_in(client, clinic_admin).get(URL, {"page": "99"})
    assert response.status_code == 200
    assert "There is no page 99: showing page 1, the last." in response.context["filters"].notices


# --- Pages and query count --------------------------------------------------------------------------


def test_pages_of_fifty_with_links_that_keep_the_filters(client, clinic_admin, therapist):
    AuditEvent.objects.bulk_create(
        [AuditEvent(user=therapist, username="therapist", role="therapist", clinic=therapist.clinic,
                    action=AuditEvent.Action.VIEW) for _ in range(60)]
    )
    response = signed_in(client, clinic_admin).get(URL, {"action": "view"})
    assert len(shown(response)) == 50
    assert response.context["page_links"]["next"] == "?action=view&page=2"
    second = client.get(URL, {"action": "view", "page": "2"})
    assert len(shown(second)) == 10


def build_events(clinic_admin, therapist, patient, n: int) -> None:
    for i in range(n):
        event(therapist, patient=patient if i % 2 else None, at=ago(i))
        event(clinic_admin, action=AuditEvent.Action.LIST)


# Measured with django_assert_num_queries:
#   the session, the user, the patient filter's match (only when given), the COUNT for the
#   paginator, the page of rows (patient names as a subquery), the account choices of the
#   "Who" filter, the LIST audit row, the clinic name in the header.
BASE_QUERIES = 7


@pytest.mark.parametrize("n", [3, 80])
@pytest.mark.parametrize(
    ("params", "extra"),
    [({}, 0), ({"patient": "ada", "action": "view", "date_from": "2020-01-01", "page": "1"}, 1)],
)
def test_query_count_is_fixed(
    client, clinic_admin, therapist, patient, django_assert_num_queries, n, params, extra
):
    build_events(clinic_admin, therapist, patient, n)
    signed_in(client, clinic_admin)
    with django_assert_num_queries(BASE_QUERIES + extra):
        response = client.get(URL, params)
    assert response.status_code == 200 and shown(response)


# --- CSV export ------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_export_has_every_matching_row_not_just_a_page(client, clinic_admin, therapist, patient):
    for _ in range(60):
        event(therapist, patient=patient)
    event(therapist, action=AuditEvent.Action.LOGIN)
    response = signed_in(client, clinic_admin).get(EXPORT, {"action": "view"})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    rows = read_csv(response)
    assert rows[0][:4] == ["When", "Username", "Role", "Action"]
    assert len(rows) == 61
    assert {r[3] for r in rows[1:]} == {"View"}
    assert rows[1][7] == "Ada Lovelace" and rows[1][6] == str(patient.public_id)


def test_the_export_is_audited(client, clinic_admin, patient):
    signed_in(client, clinic_admin).get(EXPORT, {"patient": str(patient.public_id)})
    row = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert (row.user, row.object_type) == (clinic_admin, "AuditEvent")
    assert row.patient_public_id == patient.public_id


@pytest.mark.parametrize("typed", ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)"])
def test_export_is_safe_from_csv_injection(client, clinic_admin, typed):
    """A failed sign-in stores the username as typed: it must reach a spreadsheet as text."""
    client.post(reverse("login"), {"username": typed, "password": "whatever-wrong"})
    AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).update(clinic=clinic_admin.clinic)
    rows = read_csv(signed_in(client, clinic_admin).get(EXPORT, {"action": "login_failed"}))
    assert [row[1] for row in rows[1:]] == ["'" + typed]


def test_every_column_is_made_safe(client, clinic_admin):
    factories.AuditEventFactory(
        user=None, username="\t=cmd", role="", clinic=clinic_admin.clinic, object_type="=x", path="@p"
    )
    rows = read_csv(signed_in(client, clinic_admin).get(EXPORT, {"action": "view"}))
    assert (rows[1][1], rows[1][4], rows[1][9]) == ("'\t=cmd", "'=x", "'@p")


def test_patients_named_on_a_page_get_a_list_row_each(
    client, clinic_admin, therapist, patient, other_patient
):
    event(therapist, patient=patient)
    event(therapist, patient=other_patient)
    signed_in(client, clinic_admin).get(URL)
    listed = set(
        AuditEvent.objects.filter(action=AuditEvent.Action.LIST, user=clinic_admin).values_list(
            "patient_public_id", flat=True
        )
    )
    assert listed == {patient.public_id, other_patient.public_id}


def test_patients_named_in_an_export_get_an_export_row_each(
    client, clinic_admin, therapist, patient, other_clinic
):
    event(therapist, patient=patient)
    stranger = factories.PatientFactory(clinic=other_clinic)
    event(therapist, patient=stranger)  # another clinic's patient: never named, so no row for them
    b"".join(signed_in(client, clinic_admin).get(EXPORT).streaming_content)
    exported = set(
        AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).values_list("patient_public_id", flat=True)
    )
    assert exported == {patient.public_id}
