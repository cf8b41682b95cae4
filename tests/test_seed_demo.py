"""`manage.py seed_demo`: the demo clinic it builds, idempotence and its DEBUG guard."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from sessions_app import ipt, measures
from sessions_app.management.commands.seed_demo import CLINIC_NAME, DEMO_PASSWORD
from sessions_app.models import Clinic, MeasureResponse, Patient, ProblemAreaFocus, TherapySession, User

pytestmark = pytest.mark.django_db

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEMO_ACCOUNTS = {
    "demo-admin": User.Role.CLINIC_ADMIN,
    "demo-therapist": User.Role.THERAPIST,
    "demo-therapist2": User.Role.THERAPIST,
    "demo-therapist3": User.Role.THERAPIST,
    "demo-patient": User.Role.PATIENT,
}


def seed(**kwargs) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **kwargs)
    return out.getvalue()


@pytest.fixture
def demo(settings) -> None:
    settings.DEBUG = True
    seed()


def phq9_series() -> dict[int, list[MeasureResponse]]:
    series: dict[int, list[MeasureResponse]] = {}
    for response in MeasureResponse.objects.filter(instrument=measures.Instrument.PHQ9).order_by("taken_on"):
        series.setdefault(response.course_id, []).append(response)
    return series


def test_builds_the_documented_accounts_in_one_clinic(demo):
    clinic = Clinic.objects.get(name=CLINIC_NAME)
    for username, role in DEMO_ACCOUNTS.items():
        # With a request, as the sign-in page calls it (django-axes refuses a call without one).
        user = authenticate(RequestFactory().post("/login/"), username=username, password=DEMO_PASSWORD)
        assert user is not None, username
        assert (user.role, user.clinic) == (role, clinic)
        assert user.first_name and user.last_name
        assert not user.is_superuser and not user.is_staff

    portal_patient = Patient.objects.get(portal_user__username="demo-patient")
    assert portal_patient.therapist.username == "demo-therapist"
    assert portal_patient.clinic == clinic


def test_demo_patient_has_a_middle_phase_course_with_goals_and_shared_scores(demo):
    patient = Patient.objects.get(portal_user__username="demo-patient")
    course = patient.courses.get()
    latest = course.sessions.filter(attendance="attended").order_by("-number").first()
    assert latest.phase == ipt.Phase.MIDDLE
    assert course.share_scores_with_patient
    visible = [g for f in course.foci.all() for g in f.goals.filter(visible_to_patient=True)]
    assert 2 <= len(visible) <= 3
    assert all(goal.reviews.exists() for goal in visible)


def test_covers_every_phase_problem_area_and_score_trajectory(demo):
    assert Patient.objects.count() >= 15
    assert User.objects.filter(role=User.Role.PATIENT, patient_record__isnull=False).count() >= 2
    phases = set(TherapySession.objects.values_list("phase", flat=True))
    assert {ipt.Phase.INITIAL, ipt.Phase.MIDDLE, ipt.Phase.TERMINATION} <= phases
    assert set(ProblemAreaFocus.objects.values_list("area", flat=True)) == set(ipt.ProblemArea.values)
    statuses = {patient.courses.get().status for patient in Patient.objects.all()}
    assert statuses == {"active", "completed", "discontinued"}
    assert ProblemAreaFocus.objects.filter(is_primary=False).exists()

    series = phq9_series().values()
    margin = measures.RELIABLE_CHANGE[measures.Instrument.PHQ9]
    assert any(s[0].total - s[-1].total >= margin for s in series), "no improving PHQ-9 series"
    assert any(s[-1].total - s[0].total >= margin for s in series), "no deteriorating PHQ-9 series"
    flagged = MeasureResponse.objects.get(item9_positive=True)
    assert flagged.session.risk_ideation == TherapySession.Ideation.PASSIVE
    assert flagged.session.safety_plan and flagged.session.risk_action_taken


def test_records_are_clinically_consistent(demo):
    for session in TherapySession.objects.filter(attendance="attended"):
        assert session.phase == ipt.default_phase(session.number, session.course.planned_sessions)
    assert TherapySession.objects.exclude(attendance="attended").exists()
    assert TherapySession.objects.filter(signed_at__isnull=True).exists()
    assert TherapySession.objects.filter(signed_at__isnull=False).count() > 100
    grief = ProblemAreaFocus.objects.filter(area=ipt.ProblemArea.GRIEF)
    assert grief.exists() and all(focus.person.is_deceased for focus in grief)
    for focus in ProblemAreaFocus.objects.filter(area=ipt.ProblemArea.ROLE_DISPUTE):
        assert focus.dispute_stage and focus.person
    for patient in Patient.objects.all():
        assert 3 <= patient.courses.get().relationships.count() <= 6


def test_a_second_run_changes_nothing(settings):
    settings.DEBUG = True
    seed()
    models = list(apps.get_app_config("sessions_app").get_models())
    before = {model.__name__: model.objects.count() for model in models}
    assert before["HistoricalTherapySession"] > 0  # historical models are counted too

    output = seed()

    assert "already present" in output
    assert {model.__name__: model.objects.count() for model in models} == before


def test_refuses_without_debug_and_creates_nothing(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        seed()
    assert not Clinic.objects.exists()
    assert not User.objects.exists()


def test_runs_without_debug_when_forced(settings):
    settings.DEBUG = False
    seed(force=True)
    assert Clinic.objects.filter(name=CLINIC_NAME).exists()


def test_a_bad_flag_gets_the_usage_message(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env |= {
        "DJANGO_DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "ipt_tracker.settings",
        # A throwaway database: the command must fail before it touches one, but never var/.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--bogus"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "usage:" in result.stderr
    assert "--bogus" in result.stderr
