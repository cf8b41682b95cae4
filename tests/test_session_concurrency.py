"""Two tabs, double clicks and concurrent saves of the session form.

Rules under test (issue 3, "Behaviour under bad or concurrent input"): a save
based on an old version gets a clear "changed since you opened it" message
with both versions visible and never overwrites; submitting the same new-session
form twice makes one session; session numbers stay unique and consecutive under
concurrent saves. The threaded tests need real row locks and run on PostgreSQL
only (`.ci/run` runs the suite there too).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections
from django.utils.html import escape

from sessions_app import ipt
from sessions_app.models import AuditEvent, TherapySession
from sessions_app.services import sessions as services
from tests import factories
from tests.test_session_form import TODAY, edit_data, edit_url, new_url, post_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(patient):
    return factories.CourseFactory(patient=patient, start_date=TODAY - dt.timedelta(weeks=10))


@pytest.fixture
def signed_in(client, therapist):
    client.force_login(therapist)
    return client


@pytest.fixture
def draft(course):
    return factories.TherapySessionFactory(
        course=course, number=1, date=TODAY - dt.timedelta(days=1), events_since_last="As first written"
    )


def draft_input(session: TherapySession, **overrides: Any) -> services.SessionInput:
    values: dict[str, Any] = {
        "date": session.date,
        "duration_minutes": 50,
        "modality": "in_person",
        "attendance": "attended",
        "phase": session.phase,
    }
    return services.SessionInput(**(values | overrides))


# --- Two tabs on the same draft (optimistic locking) -------------------------------------------------------


def test_the_second_of_two_saves_from_the_same_version_gets_a_conflict(signed_in, draft):
    # Both tabs opened the draft at version 1.
    first_tab = edit_data(draft, events_since_last="Tab one: met Sam for coffee", private_note="From tab one")
    second_tab = edit_data(draft, events_since_last="Tab two: a row with Mum", private_note="From tab two")

    assert signed_in.post(edit_url(draft), first_tab).status_code == 302
    response = signed_in.post(edit_url(draft), second_tab)

    assert response.status_code == 200
    body = response.content.decode()
    assert "This session was changed since you opened it" in body
    # Both versions are on the page: the stored one in the comparison, the typed one in the form.
    assert escape("Tab one: met Sam for coffee") in body
    assert escape("Tab two: a row with Mum") in body
    rows = {label: (saved, yours) for label, saved, yours in response.context["conflict"]}
    assert rows["Interpersonal events and mood since we last met"] == (
        "Tab one: met Sam for coffee",
        "Tab two: a row with Mum",
    )
    assert rows["Private note"] == ("From tab one", "From tab two")
    assert "Duration (minutes)" not in rows  # only what differs
    # Nothing was overwritten.
    draft.refresh_from_db()
    assert (draft.events_since_last, draft.version) == ("Tab one: met Sam for coffee", 2)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).count() == 1


def test_after_a_conflict_saving_again_keeps_the_typed_version(signed_in, draft):
    first_tab = edit_data(draft, events_since_last="Tab one")
    second_tab = edit_data(draft, events_since_last="Tab two")
    signed_in.post(edit_url(draft), first_tab)

    response = signed_in.post(edit_url(draft), second_tab)
    # The re-rendered form now carries the stored version: a second save is a deliberate overwrite.
    assert response.context["form"].main["version"].value() == "2"
    retry = second_tab | {"version": "2"}
    assert signed_in.post(edit_url(draft), retry).status_code == 302

    draft.refresh_from_db()
    assert (draft.events_since_last, draft.version) == ("Tab two", 3)


def test_a_conflict_shows_changed_phq9_answers_on_both_sides(signed_in, draft):
    signed_in.post(edit_url(draft), edit_data(draft, phq9=[0] * 9))

    response = signed_in.post(edit_url(draft), edit_data(draft, phq9=[1] * 9))

    rows = {label: (saved, yours) for label, saved, yours in response.context["conflict"]}
    assert rows["PHQ-9 answers"] == (
        "0, 0, 0, 0, 0, 0, 0, 0, 0 (total 0)",
        "1, 1, 1, 1, 1, 1, 1, 1, 1 (total 9)",
    )


def test_the_service_refuses_a_stale_version(draft, therapist):
    services.session_update(session=draft, data=draft_input(draft), by_user=therapist, expected_version=1)

    with pytest.raises(services.VersionConflict) as conflict:
        services.session_update(
            session=draft,
            data=draft_input(draft, events_since_last="stale"),
            by_user=therapist,
            expected_version=1,
        )

    assert conflict.value.stored.version == 2
    draft.refresh_from_db()
    assert draft.events_since_last == ""


# --- Double submit (idempotency) -------------------------------------------------------------------


def test_submitting_the_same_new_session_form_twice_makes_one_session(signed_in, course):
    data = post_data(submission_key=uuid.uuid4())

    first = signed_in.post(new_url(course), data)
    second = signed_in.post(new_url(course), data)

    session = TherapySession.objects.get(course=course)
    assert first.url == second.url == session.get_absolute_url()
    assert session.number == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CREATE).count() == 1


def test_double_submit_of_a_signed_form_returns_the_signed_session(signed_in, course):
    data = post_data(submission_key=uuid.uuid4(), action="sign")

    signed_in.post(new_url(course), data)
    second = signed_in.post(new_url(course), data)

    assert second.status_code == 302
    assert TherapySession.objects.get().is_signed


def test_each_opened_form_gets_its_own_submission_key(signed_in, course):
    keys = {signed_in.get(new_url(course)).context["form"].main["submission_key"].value() for _ in range(2)}

    assert len(keys) == 2


def test_the_service_returns_the_session_for_a_repeated_key(course, therapist):
    key = uuid.uuid4()
    data = services.SessionInput(
        date=TODAY, duration_minutes=50, modality="in_person", attendance="attended", phase=ipt.Phase.INITIAL
    )

    first, created = services.session_create(course=course, data=data, by_user=therapist, submission_key=key)
    again, created_again = services.session_create(
        course=course, data=data, by_user=therapist, submission_key=key
    )

    assert (created, created_again) == (True, False)
    assert again == first
    assert TherapySession.objects.count() == 1


def test_the_service_numbers_attended_sessions_only(course, therapist):
    def log(attendance: str, days_ago: int) -> TherapySession:
        data = services.SessionInput(
            date=TODAY - dt.timedelta(days=days_ago),
            duration_minutes=50,
            modality="video",
            attendance=attendance,
            phase=ipt.Phase.INITIAL,
        )
        return services.session_create(course=course, data=data, by_user=therapist)[0]

    numbers = [
        log(a, d).number for a, d in (("attended", 9), ("no_show", 8), ("cancelled", 7), ("attended", 6))
    ]

    assert numbers == [1, None, None, 2]


# --- PostgreSQL: real concurrency ------------------------------------------------------------------


def run_together(workers: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `workers` threads released at the same moment; return results or exceptions."""
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def target(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = work(index)
        except Exception as exc:  # the test inspects what each thread got
            results[index] = exc
        finally:
            # Each thread has its own connection; close it so the test database can be dropped.
            connections.close_all()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def skip_unless_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks (SELECT ... FOR UPDATE)")


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_of_the_same_draft_one_wins_one_conflicts(patient, therapist):
    skip_unless_postgresql()
    course = factories.CourseFactory(patient=patient, start_date=TODAY - dt.timedelta(weeks=10))
    draft = factories.TherapySessionFactory(course=course, number=1, date=TODAY)

    def save(index: int) -> TherapySession:
        data = draft_input(draft, events_since_last=f"Tab {index}")
        return services.session_update(session=draft, data=data, by_user=therapist, expected_version=1)

    results = run_together(2, save)

    saved = [r for r in results if isinstance(r, TherapySession)]
    conflicts = [r for r in results if isinstance(r, services.VersionConflict)]
    assert (len(saved), len(conflicts)) == (1, 1), results
    draft.refresh_from_db()
    assert draft.version == 2
    assert draft.events_since_last == saved[0].events_since_last
    assert conflicts[0].stored.events_since_last == saved[0].events_since_last


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_new_sessions_get_unique_consecutive_numbers(patient, therapist):
    skip_unless_postgresql()
    course = factories.CourseFactory(
        patient=patient, planned_sessions=16, start_date=TODAY - dt.timedelta(weeks=10)
    )
    workers = 6

    def create(index: int) -> TherapySession:
        data = services.SessionInput(
            date=TODAY,
            duration_minutes=50,
            modality="in_person",
            attendance="attended",
            phase=ipt.Phase.INITIAL,
            phase_override_reason="Concurrency test: phase not under test.",
        )
        return services.session_create(course=course, data=data, by_user=therapist)[0]

    results = run_together(workers, create)

    assert all(isinstance(r, TherapySession) for r in results), results
    numbers = sorted(TherapySession.objects.filter(course=course).values_list("number", flat=True))
    assert numbers == list(range(1, workers + 1))


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_double_submit_makes_one_session(patient, therapist):
    skip_unless_postgresql()
    course = factories.CourseFactory(patient=patient, start_date=TODAY - dt.timedelta(weeks=10))
    key = uuid.uuid4()

    def create(index: int) -> tuple[TherapySession, bool]:
        data = services.SessionInput(
            date=TODAY,
            duration_minutes=50,
            modality="in_person",
            attendance="attended",
            phase=ipt.Phase.INITIAL,
        )
        return services.session_create(course=course, data=data, by_user=therapist, submission_key=key)

    results = run_together(4, create)

    assert all(isinstance(r, tuple) for r in results), results
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert len({session.pk for session, _ in results}) == 1
    assert TherapySession.objects.filter(course=course).count() == 1
