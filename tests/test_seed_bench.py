"""`seed_bench`: a deterministic synthetic network that respects the domain's invariants,
and refuses to touch databases that hold anything else."""

from __future__ import annotations

import hashlib
from collections import defaultdict

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import F

from sessions_app import ipt, measures
from sessions_app.management.commands.seed_bench import SYNTHETIC_PREFIX
from sessions_app.models import (
    AuditEvent,
    Clinic,
    Course,
    Goal,
    GoalReview,
    MeasureResponse,
    Patient,
    ProblemAreaFocus,
    TherapySession,
    User,
)
from tests import factories

pytestmark = pytest.mark.django_db

SCALE = "0.02"  # 1 therapist, 100 patients: every phase and problem area still occurs


def seed(scale: str = SCALE, **options) -> None:
    call_command("seed_bench", "--scale", scale, stdout=_Sink(), **options)


class _Sink:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def digest() -> str:
    """One hash over every row of every table of the app, in primary-key order."""
    sha = hashlib.sha256()
    for model in apps.get_app_config("sessions_app").get_models():
        if model._meta.db_table.startswith("sessions_app_historical"):
            continue
        for row in model.objects.order_by("pk").values_list():
            sha.update(repr(row).encode())
    return sha.hexdigest()


class _Rollback(Exception):
    pass


def digest_of_a_fresh_seed() -> str:
    try:
        with transaction.atomic():
            seed("0.01")
            result = digest()
            raise _Rollback
    except _Rollback:
        pass
    return result


def test_two_runs_build_the_same_network():
    first = digest_of_a_fresh_seed()
    assert not Clinic.objects.exists()  # rolled back
    assert digest_of_a_fresh_seed() == first


def test_a_different_seed_builds_a_different_network():
    first = digest_of_a_fresh_seed()
    try:
        with transaction.atomic():
            seed("0.01", seed=7)
            other = digest()
            raise _Rollback
    except _Rollback:
        pass
    assert other != first


def test_tiny_scale_has_the_expected_shape():
    seed()
    clinic = Clinic.objects.get()
    assert clinic.name.startswith(SYNTHETIC_PREFIX)
    assert User.objects.filter(role=User.Role.THERAPIST).count() == 1
    assert User.objects.filter(role=User.Role.CLINIC_ADMIN).count() == 1
    assert Patient.objects.count() == 100
    # Every tenth patient has a portal account.
    assert Patient.objects.filter(portal_user__isnull=False).count() == 10
    assert User.objects.filter(role=User.Role.PATIENT).count() == 10
    # About 15 sessions and 30 questionnaires a patient, as at scale 1.
    assert 1200 <= TherapySession.objects.count() <= 1800
    assert 2400 <= MeasureResponse.objects.count() <= 3600
    assert Goal.objects.exists() and GoalReview.objects.exists()
    assert AuditEvent.objects.filter(clinic=clinic).count() >= 30 * 100
    # Every phase, problem area, course status and attendance occurs.
    assert set(TherapySession.objects.values_list("phase", flat=True)) == set(ipt.Phase.values)
    assert set(ProblemAreaFocus.objects.values_list("area", flat=True)) == set(ipt.ProblemArea.values)
    assert set(Course.objects.values_list("status", flat=True)) == set(Course.Status.values)
    assert set(TherapySession.objects.values_list("attendance", flat=True)) == set(
        TherapySession.Attendance.values
    )
    # Some active courses have no session yet (the benchmark's "fresh courses"), some a draft.
    assert Course.objects.active().filter(sessions__isnull=True).exists()
    assert TherapySession.objects.filter(signed_at__isnull=True, attendance="attended").exists()


def test_rows_keep_the_invariants_model_save_would_enforce():
    seed("0.01")
    for response in MeasureResponse.objects.all():
        score = measures.score(response.instrument, response.items)
        assert (response.total, response.band, response.item9_positive) == (
            score.total,
            score.band,
            score.item9_positive,
        )
        if response.item9_positive:
            # A positive item 9 comes with a risk assessment in its session.
            assert response.session.risk_ideation
    numbers = defaultdict(list)
    for course_id, number in TherapySession.objects.filter(attendance="attended").values_list(
        "course_id", "number"
    ):
        numbers[course_id].append(number)
    for course_numbers in numbers.values():
        assert sorted(course_numbers) == list(range(1, len(course_numbers) + 1))
    assert not TherapySession.objects.filter(signed_at__isnull=False, signed_by__isnull=True).exists()
    # Each patient's therapist and courses belong to the patient's clinic.
    assert not Patient.objects.exclude(therapist__clinic=F("clinic")).exists()
    assert not Course.objects.exclude(therapist=F("patient__therapist")).exists()


def test_accounts_cannot_sign_in_with_a_password():
    seed("0.01")
    assert User.objects.exists()
    assert not any(user.has_usable_password() for user in User.objects.all())


def test_the_id_sequences_continue_after_the_seeded_rows():
    seed("0.01")
    # A row created the ordinary way after seeding gets a fresh id (PostgreSQL sequences were reset).
    therapist = User.objects.filter(role=User.Role.THERAPIST).get()
    patient = factories.PatientFactory(clinic=therapist.clinic, therapist=therapist)
    assert patient.pk > Patient.objects.exclude(pk=patient.pk).order_by("-pk").first().pk


def test_refuses_a_database_with_a_clinic_that_is_not_synthetic():
    factories.ClinicFactory(name="Riverside IPT Clinic")
    with pytest.raises(CommandError, match=r"not synthetic \(Riverside IPT Clinic\)"):
        seed()
    assert not Patient.objects.exists()
    assert Clinic.objects.count() == 1


def test_refuses_to_seed_twice():
    seed("0.01")
    patients = Patient.objects.count()
    with pytest.raises(CommandError, match="already holds bench data"):
        seed("0.01")
    assert Patient.objects.count() == patients


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "must be a number"),
        ("", "must be a number"),
        ("0", "must be a positive number"),
        ("-1", "must be a positive number"),
        ("nan", "must be a positive number"),
        ("inf", "must be a positive number"),
        ("1000", "too large"),
    ],
)
def test_a_bad_scale_is_a_clear_error(value, message):
    with pytest.raises(CommandError, match=message):
        seed(value)
    assert not Clinic.objects.exists()
