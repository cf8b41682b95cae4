"""Every read of patient data leaves an audit row, on every page that exists.

The walk (tests/crawl.py) follows every link the therapist, the clinic admin
and the patient can see, over a record with one of everything; each page that
shows patient data must have written a VIEW, LIST or EXPORT row naming the
patient. Routes no link reaches are requested directly (or must be classified
below), so a page added later is covered the day it lands.
"""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from sessions_app.models import AuditEvent
from tests import crawl

pytestmark = pytest.mark.django_db

READS = {AuditEvent.Action.VIEW, AuditEvent.Action.LIST, AuditEvent.Action.EXPORT}

# Pages that show no patient's data, so they write no read row.
NO_PATIENT_DATA = {
    "home": "redirects each role to its home page",
    "healthz": "liveness check",
    "login": "sign-in form",
    "logout": "sign-out (POST)",
    "password_change": "the user's own password",
    "password_change_done": "confirmation",
    "patient-create": "an empty form for a new patient",
    "clinic-staff": "staff accounts: names, roles and a count of patients, no patient's data",
    "clinic-staff-new": "an empty form for a new staff account",
    "account-link-shown": "the activation link just issued (no patient's data)",
    "account-activate-done": "public confirmation after choosing a password",
}

# Routes the walk cannot reach by GET, with the reason. Everything else must be reached.
NOT_WALKED = {
    "logout": "POST only; ends the walk",
    "healthz": "public, not linked from any page",
    "account-activate": "public one-time link with a token; tests/test_activation.py",
}

PERSONAS = ("therapist", "clinic_admin", "patient_user")


@pytest.fixture
def record(therapist, patient):
    return crawl.full_record(therapist, patient)


def walk_as(user) -> crawl.Walk:
    client = Client()
    client.force_login(user)
    return crawl.walk(client)


def _record_ids(record, patient) -> list[uuid.UUID]:
    return [patient.public_id] + [row.public_id for row in record.values()]


def _reached_directly(route: crawl.Route, ids: list[uuid.UUID], users) -> list[crawl.Visit]:
    """GET a route no link reached, with every public id of the record in each UUID slot."""
    slots = list(route.converters)
    if any(kind != "UUIDConverter" for kind in route.converters.values()) or len(slots) > 1:
        return []
    visits = []
    candidates = [{}] if not slots else [{slots[0]: value} for value in ids]
    for user in users:
        client = Client()
        client.force_login(user)
        for kwargs in candidates:
            url = reverse(route.name, kwargs=kwargs)
            response = client.get(url)
            visits.append(crawl.Visit(url, route.name, response.status_code, [], "", ""))
    return visits


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_patient_data_page_writes_a_read_row_naming_the_patient(request, record, patient, persona):
    user = request.getfixturevalue(persona)
    visits = walk_as(user).visits
    pages = [v for v in visits if v.status == 200 and v.route not in NO_PATIENT_DATA]
    assert len(pages) >= 2, f"the walk found too little to be a test: {[v.url for v in visits]}"
    missing = [
        v.url
        for v in pages
        if not any(
            e.action in READS and e.user_id == user.pk and e.patient_public_id == patient.public_id
            for e in v.events
        )
    ]
    assert missing == [], f"pages that showed patient data without a read audit row: {missing}"


def test_every_route_is_walked_or_classified(request, record, patient, therapist, clinic_admin, patient_user):
    users = (therapist, clinic_admin, patient_user)
    reached: dict[str, set[int]] = {}
    for user in users:
        for visit in walk_as(user).visits:
            reached.setdefault(visit.route, set()).add(visit.status)
    unreached = []
    for route in crawl.routes():
        if route.name in reached or route.name in NOT_WALKED:
            continue
        # Not linked from any page the personas see: request it directly.
        statuses = {v.status for v in _reached_directly(route, _record_ids(record, patient), users)}
        if 200 in statuses or 405 in statuses:
            continue  # a page (audited in the test below) or a POST-only action
        unreached.append(f"{route.name} ({route.pattern}): {sorted(statuses) or 'not requestable'}")
    assert unreached == [], (
        "routes neither reached by the walk nor classified in NOT_WALKED: " + "; ".join(unreached)
    )


def test_unlinked_get_routes_write_a_read_row_too(record, patient, therapist, clinic_admin, patient_user):
    """Pages no link leads to (reached by URL only) are held to the same rule."""
    users = (therapist, clinic_admin, patient_user)
    linked: set[str] = set()
    for user in users:
        linked |= {visit.route for visit in walk_as(user).visits}
    missing = []
    for route in crawl.routes():
        if route.name in linked or route.name in NO_PATIENT_DATA or route.name in NOT_WALKED:
            continue
        for visit in _reached_directly(route, _record_ids(record, patient), users):
            if visit.status != 200:
                continue
            if not AuditEvent.objects.filter(
                path=visit.url, action__in=READS, patient_public_id=patient.public_id
            ).exists():
                missing.append(visit.url)
    assert missing == [], f"unlinked pages that showed patient data without a read audit row: {missing}"


def test_a_list_records_each_patient_it_listed(client, therapist, patient, other_patient, record):
    from tests import factories

    second = factories.PatientFactory(clinic=therapist.clinic, therapist=therapist, given_name="Bea")
    factories.CourseFactory(patient=second)
    client.force_login(therapist)
    client.get(reverse("therapist-home"))
    listed = set(
        AuditEvent.objects.filter(action=AuditEvent.Action.LIST, user=therapist).values_list(
            "patient_public_id", flat=True
        )
    )
    assert listed == {patient.public_id, second.public_id}
