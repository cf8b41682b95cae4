"""Emergency ("break the glass") access: a therapist opens a patient of their
clinic outside their caseload with the patient's exact details and a reason;
read-only, four hours, on the clinic admin's dashboard, in the audit trail and
in the patient's own access history.

`therapist` is the one who breaks the glass; `other_patient` (treated by
`other_therapist`) is the patient they open.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.template import Context, Template
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from sessions_app import access
from sessions_app.models import AuditEvent, EmergencyAccess, TherapySession
from sessions_app.services import emergency as emergency_services
from sessions_app.views import initial
from tests import factories

pytestmark = pytest.mark.django_db

START = reverse("emergency-access")
REASON = "Patient rang in crisis; Dr Hopper's therapist is on leave today."
PRIVATE_NOTE = "PRIVATE-PROCESS-NOTE-7f3a"
RISK_NARRATIVE = "RISK-NARRATIVE-91bc"


def details(patient, **overrides) -> dict[str, str]:
    data = {
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "reason": REASON,
    }
    data.update(overrides)
    return data


@pytest.fixture
def records(other_patient) -> dict[str, object]:
    """One row of each kind under `other_patient`, as their own therapist would have them."""
    course = factories.CourseFactory(patient=other_patient)
    focus = factories.ProblemAreaFocusFactory(course=course)
    session = factories.TherapySessionFactory(
        course=course, number=1, private_note=PRIVATE_NOTE, risk_action_taken=RISK_NARRATIVE
    )
    signed = factories.SignedTherapySessionFactory(course=course, number=2)
    return {
        "patient": other_patient,
        "course": course,
        "focus": focus,
        "goal": factories.GoalFactory(focus=focus),
        "session": session,
        "signed": signed,
        "addendum": factories.SessionAddendumFactory(session=signed),
        "person": factories.RelationshipEntryFactory(course=course),
        "measure": factories.MeasureResponseFactory(course=course),
    }


@pytest.fixture
def breaking(client, therapist, records):
    """`therapist`, signed in, with emergency access to `other_patient` through the page."""
    client.force_login(therapist)
    response = client.post(START, details(records["patient"]), follow=True)
    assert response.redirect_chain == [(records["patient"].get_absolute_url(), 302)]
    return client


# --- The page ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["clinic_admin", "patient_user"])
def test_only_therapists_break_the_glass(client, request, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(START).status_code == 403
    assert client.post(START, {}).status_code == 403


def test_exact_details_and_a_reason_open_the_record_for_four_hours(client, therapist, records):
    patient = records["patient"]
    client.force_login(therapist)
    assert client.get(patient.get_absolute_url()).status_code == 404

    response = client.post(START, details(patient), follow=True)

    assert response.redirect_chain == [(patient.get_absolute_url(), 302)]
    assert response.status_code == 200
    assert "Emergency access to Grace Hopper until" in response.content.decode()
    grant = EmergencyAccess.objects.get()
    assert (grant.user, grant.patient, grant.reason) == (therapist, patient, REASON)
    assert grant.expires_at - grant.started_at == timedelta(hours=4)
    assert abs(grant.started_at - timezone.now()) < timedelta(minutes=1)
    row = AuditEvent.objects.get(action=AuditEvent.Action.EMERGENCY_ACCESS)
    assert (row.user, row.object_type, row.object_id, row.patient_public_id) == (
        therapist,
        "EmergencyAccess",
        str(grant.public_id),
        patient.public_id,
    )


def test_the_records_are_readable_but_private_notes_and_risk_narratives_are_not(breaking, records):
    session_url = reverse("session-detail", args=[records["session"].public_id])
    for url in (records["course"].get_absolute_url(), session_url):
        response = breaking.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert PRIVATE_NOTE not in page and RISK_NARRATIVE not in page


@pytest.mark.parametrize(
    "reason",
    ["", "   ", "Needed urgently.", "x" * (EmergencyAccess.REASON_MIN_LENGTH - 1), " " * 30 + "short"],
)
def test_a_reason_under_twenty_characters_is_refused(client, therapist, records, reason):
    client.force_login(therapist)

    response = client.post(START, details(records["patient"], reason=reason))

    assert response.status_code == 200
    assert "at least 20 characters" in response.content.decode() or "This field is required" in (
        response.content.decode()
    )
    assert not EmergencyAccess.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EMERGENCY_ACCESS).exists()


def test_twenty_characters_are_enough(client, therapist, records):
    client.force_login(therapist)

    response = client.post(START, details(records["patient"], reason="y" * 20))

    assert response.status_code == 302
    assert EmergencyAccess.objects.get().reason == "y" * 20


def test_case_and_surrounding_spaces_do_not_matter(client, therapist, records):
    client.force_login(therapist)

    client.post(START, details(records["patient"], given_name="  grace ", family_name="HOPPER"))

    assert EmergencyAccess.objects.get().patient == records["patient"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"given_name": "Gra"},
        {"family_name": "Hop"},
        {"family_name": "Hopper Smith"},
        {"date_of_birth": "1985-04-13"},
    ],
)
def test_partial_or_wrong_details_match_nobody(client, therapist, records, overrides):
    client.force_login(therapist)

    response = client.post(START, details(records["patient"], **overrides))

    assert response.status_code == 200
    assert "No patient of your clinic has exactly this name and date of birth" in response.content.decode()
    assert not EmergencyAccess.objects.exists()
    denied = AuditEvent.objects.get(action=AuditEvent.Action.DENIED)
    assert (denied.user, denied.object_type, denied.patient_public_id) == (therapist, "EmergencyAccess", None)


def test_a_patient_of_another_clinic_never_matches(client, therapist, other_clinic):
    stranger = factories.PatientFactory(clinic=other_clinic, given_name="Alan", family_name="Turing")
    client.force_login(therapist)

    response = client.post(START, details(stranger))

    assert "No patient of your clinic" in response.content.decode()
    assert not EmergencyAccess.objects.exists()


def test_two_patients_with_the_same_details_are_not_guessed_between(client, therapist, records, clinic):
    factories.PatientFactory(clinic=clinic, given_name="Grace", family_name="Hopper")  # same date of birth
    client.force_login(therapist)

    response = client.post(START, details(records["patient"]))

    assert "More than one patient matches" in response.content.decode()
    assert not EmergencyAccess.objects.exists()


def test_an_own_patient_needs_no_emergency_access(client, therapist, patient):
    client.force_login(therapist)

    response = client.post(START, details(patient))

    assert response.url == patient.get_absolute_url()
    assert not EmergencyAccess.objects.exists()


def test_too_many_unmatched_lookups_pause_the_page(client, therapist, records):
    client.force_login(therapist)
    for n in range(emergency_services.LOOKUP_LIMIT):
        client.post(START, details(records["patient"], given_name=f"Nobody{n}"))

    response = client.post(START, details(records["patient"]))

    assert response.status_code == 429
    assert "emergency look-ups are paused" in response.content.decode()
    assert not EmergencyAccess.objects.exists()


def test_unmatched_lookups_older_than_an_hour_do_not_count(client, therapist, records):
    client.force_login(therapist)
    for n in range(emergency_services.LOOKUP_LIMIT):
        client.post(START, details(records["patient"], given_name=f"Nobody{n}"))
    an_hour_ago = timezone.now() - timedelta(minutes=61)
    AuditEvent.objects.filter(action=AuditEvent.Action.DENIED).update(at=an_hour_ago)

    assert client.post(START, details(records["patient"])).status_code == 302


# --- Read-only, every route ---------------------------------------------------------------------------------

# Pages that only read: the emergency reader may open them. Every other route
# taking a record's id must refuse (403, or 404 where the id is the wrong kind);
# the course's change history is the treating therapist's and the admin's only.
READ_ROUTES = {"patient-detail", "course-detail", "session-detail"}


def _routes(patterns=None):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name != "admin":
                yield from _routes(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            converters = pattern.pattern.converters
            if any(type(c).__name__ == "UUIDConverter" for c in converters.values()):
                yield pattern.name, converters


def _kwarg_choices(name: str, converter, ids: list[uuid.UUID]) -> list:
    if type(converter).__name__ == "UUIDConverter":
        return ids
    if name == "step":
        return [step.slug for step in initial.STEPS]
    raise AssertionError(f"No test values for the URL parameter {name!r}: add them here.")


def _snapshot() -> dict[str, int]:
    """Row counts of every app table (history tables included, so updates show too), audit aside."""
    return {
        model.__name__: model.objects.count()
        for model in apps.get_app_config("sessions_app").get_models()
        if model is not AuditEvent
    }


def test_emergency_access_writes_nothing_on_any_route(breaking, records):
    ids = [row.public_id for row in records.values()]
    before = _snapshot()
    reads = set()

    for name, converters in _routes():
        choices = [_kwarg_choices(key, conv, ids) for key, conv in converters.items()]
        for values in itertools.product(*choices):
            url = reverse(name, kwargs=dict(zip(converters, values, strict=True)))
            posted = breaking.post(url, {}).status_code
            assert posted in {403, 404, 405}, f"POST {url} ({name}) answered {posted}"
            got = breaking.get(url).status_code
            if name in READ_ROUTES:
                assert got in {200, 404}, f"GET {url} ({name}) answered {got}"
                reads.add(name) if got == 200 else None
            else:
                assert got in {403, 404, 405}, f"GET {url} ({name}) answered {got}"

    assert _snapshot() == before
    assert reads == READ_ROUTES


# --- Time limit and ending ---------------------------------------------------------------------------------


def test_access_ends_after_four_hours(breaking, records):
    assert breaking.get(records["course"].get_absolute_url()).status_code == 200

    started = timezone.now() - timedelta(hours=4, seconds=1)
    EmergencyAccess.objects.update(started_at=started, expires_at=started + EmergencyAccess.DURATION)

    assert breaking.get(records["patient"].get_absolute_url()).status_code == 404
    assert breaking.get(records["course"].get_absolute_url()).status_code == 404


def test_the_therapist_can_end_it_early(breaking, records):
    grant = EmergencyAccess.objects.get()
    assert 'data-testid="running-emergency-access"' in breaking.get(START).content.decode()

    response = breaking.post(reverse("emergency-access-end", args=[grant.public_id]), follow=True)

    assert response.redirect_chain == [(START, 302)]
    assert "Emergency access to Grace Hopper ended" in response.content.decode()
    assert 'data-testid="running-emergency-access"' not in response.content.decode()
    assert breaking.get(records["patient"].get_absolute_url()).status_code == 404


def test_the_page_lists_running_grants_and_audits_the_list(breaking, records, therapist):
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()

    page = breaking.get(START).content.decode()

    assert records["patient"].get_absolute_url() in page
    row = AuditEvent.objects.get(id__gt=last)
    assert (row.user, row.action, row.object_type, row.patient_public_id) == (
        therapist,
        AuditEvent.Action.LIST,
        "EmergencyAccess",
        records["patient"].public_id,
    )


def test_nobody_else_can_end_a_grant(breaking, other_therapist):
    grant = EmergencyAccess.objects.get()
    other = Client()
    other.force_login(other_therapist)

    assert other.post(reverse("emergency-access-end", args=[grant.public_id])).status_code == 404
    grant.refresh_from_db()
    assert grant.expires_at > timezone.now()


# --- Not a way to browse patients ---------------------------------------------------------------------------


def test_an_emergency_patient_is_not_in_the_therapists_caseload(breaking, records, therapist):
    dashboard = breaking.get(reverse("therapist-home"), {"q": "Hopper"}).content.decode()

    assert "Hopper" not in dashboard.replace('value="Hopper"', "")
    assert records["patient"] in access.patients_for(therapist)
    assert records["patient"] not in access.caseload_for(therapist)


def test_candidates_are_only_for_therapists_and_exact(therapist, clinic_admin, patient_user, other_patient):
    exact = {"given_name": "Grace", "family_name": "Hopper", "date_of_birth": other_patient.date_of_birth}

    assert list(access.emergency_candidates(therapist, **exact)) == [other_patient]
    assert not access.emergency_candidates(clinic_admin, **exact).exists()
    assert not access.emergency_candidates(patient_user, **exact).exists()
    assert not access.emergency_candidates(therapist, **{**exact, "given_name": "G"}).exists()
    wrong_day = {**exact, "date_of_birth": date(1985, 4, 13)}
    assert not access.emergency_candidates(therapist, **wrong_day).exists()


def test_grants_are_scoped(therapist, other_therapist, clinic_admin, other_clinic_admin, patient_user):
    grant = factories.EmergencyAccessFactory(user=therapist, patient__clinic=therapist.clinic)

    assert list(access.emergency_accesses_for(therapist)) == [grant]
    assert list(access.emergency_accesses_for(clinic_admin)) == [grant]
    for user in (other_therapist, other_clinic_admin, patient_user):
        assert not access.emergency_accesses_for(user).exists()


# --- Seen by the clinic admin and the patient --------------------------------------------------------------


def _panel(rf, user) -> str:
    request = rf.get("/clinic/")
    request.user = user
    template = Template("{% load emergency_tags %}{% emergency_access_panel %}")
    return template.render(Context({"request": request}))


def test_the_clinic_admin_sees_running_and_recent_grants(rf, clinic_admin, other_clinic_admin, therapist):
    running = factories.EmergencyAccessFactory(user=therapist, patient__clinic=therapist.clinic)
    week_ago = timezone.now() - timedelta(days=6)
    factories.EmergencyAccessFactory(
        user=therapist,
        patient=factories.PatientFactory(clinic=therapist.clinic, given_name="Old", family_name="Grant"),
        started_at=week_ago,
        expires_at=week_ago + timedelta(hours=4),
    )
    long_ago = timezone.now() - timedelta(days=30)
    factories.EmergencyAccessFactory(
        user=therapist,
        patient=factories.PatientFactory(clinic=therapist.clinic, given_name="Ancient", family_name="Grant"),
        started_at=long_ago,
        expires_at=long_ago + timedelta(hours=4),
    )

    panel = _panel(rf, clinic_admin)

    assert "1 running" in panel
    assert running.patient.full_name in panel and running.reason in panel
    assert therapist.display_name in panel
    assert "Old Grant" in panel and "Ancient Grant" not in panel
    assert _panel(rf, other_clinic_admin).strip() == ""  # nothing to flag: no panel


def test_the_patient_sees_the_emergency_access_in_their_history(breaking, records, other_patient_user):
    patient_client = Client()
    patient_client.force_login(other_patient_user)

    page = patient_client.get(reverse("portal-access-log")).content.decode()

    assert "Opened your record using emergency access" in page
    assert TherapySession.objects.filter(course=records["course"]).count() == 2


def test_the_clinic_dashboard_flags_emergency_access(breaking, clinic_admin, therapist):
    admin = Client()
    admin.force_login(clinic_admin)

    page = admin.get(reverse("clinic-home")).content.decode()

    assert 'data-testid="emergency-access-panel"' in page
    assert "1 running" in page and REASON.replace("'", "&#x27;") in page and therapist.display_name in page
