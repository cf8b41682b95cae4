"""Database constraints on the domain models.

Each constraint has a test that a good row saves and a test that the bad row is
rejected by the database itself: rows are written with `objects.create`, `.save()`
or `QuerySet.update()`, which skip model validation, and the write is wrapped in
`transaction.atomic()` so the test can go on after the IntegrityError (needed on
PostgreSQL). The tests run on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from sessions_app import ipt, measures
from sessions_app.models import (
    Course,
    GoalReview,
    MeasureResponse,
    ProblemAreaFocus,
    RelationshipEntry,
    TherapySession,
    User,
)
from tests import factories

pytestmark = pytest.mark.django_db

ATTENDED = TherapySession.Attendance.ATTENDED
CANCELLED = TherapySession.Attendance.CANCELLED
NO_SHOW = TherapySession.Attendance.NO_SHOW


def session(course, number, **kwargs):
    return factories.TherapySessionFactory(course=course, number=number, **kwargs)


# --- TherapySession: session_number_unique_per_course --------------------------------------


def test_sessions_with_different_numbers_in_one_course_save(course):
    session(course, 1)
    session(course, 2)
    assert course.sessions.count() == 2


def test_the_same_session_number_in_two_courses_saves(course, other_course):
    session(course, 1)
    session(other_course, 1)
    assert TherapySession.objects.filter(number=1).count() == 2


def test_a_duplicate_session_number_in_one_course_is_rejected(course):
    session(course, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        session(course, 1)
    assert course.sessions.count() == 1


def test_renumbering_a_session_onto_an_existing_number_is_rejected(course):
    session(course, 1)
    second = session(course, 2)
    with pytest.raises(IntegrityError), transaction.atomic():
        TherapySession.objects.filter(pk=second.pk).update(number=1)


def test_two_cancelled_sessions_without_numbers_in_one_course_save(course):
    session(course, None, attendance=CANCELLED)
    session(course, None, attendance=CANCELLED)
    session(course, None, attendance=NO_SHOW)
    assert course.sessions.filter(number__isnull=True).count() == 3


# --- TherapySession: session_numbered_iff_attended -----------------------------------------


def test_an_attended_session_numbered_1_saves(course):
    assert session(course, 1, attendance=ATTENDED).pk is not None


@pytest.mark.parametrize("attendance", [CANCELLED, NO_SHOW])
def test_a_missed_session_without_a_number_saves(course, attendance):
    assert session(course, None, attendance=attendance).number is None


def test_an_attended_session_numbered_0_is_rejected(course):
    with pytest.raises(IntegrityError), transaction.atomic():
        session(course, 0, attendance=ATTENDED)
    assert not course.sessions.exists()


def test_an_attended_session_without_a_number_is_rejected(course):
    # "Attended sessions are numbered from 1": a NULL number must not pass the check.
    with pytest.raises(IntegrityError), transaction.atomic():
        session(course, None, attendance=ATTENDED)
    assert not course.sessions.exists()


@pytest.mark.parametrize("attendance", [CANCELLED, NO_SHOW])
def test_a_missed_session_with_a_number_is_rejected(course, attendance):
    with pytest.raises(IntegrityError), transaction.atomic():
        session(course, 3, attendance=attendance)
    assert not course.sessions.exists()


def test_marking_a_numbered_session_cancelled_without_clearing_its_number_is_rejected(course):
    numbered = session(course, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        TherapySession.objects.filter(pk=numbered.pk).update(attendance=CANCELLED)
    numbered.refresh_from_db()
    assert numbered.attendance == ATTENDED


def test_marking_a_session_cancelled_and_clearing_its_number_saves(course):
    numbered = session(course, 1)
    TherapySession.objects.filter(pk=numbered.pk).update(attendance=CANCELLED, number=None)
    numbered.refresh_from_db()
    assert numbered.number is None


# --- TherapySession: session_signed_with_signer --------------------------------------------


def test_a_session_signed_with_time_and_signer_saves(course):
    signed = session(course, 1, signed_at=timezone.now(), signed_by=course.therapist)
    assert signed.is_signed


def test_an_unsigned_session_saves(course):
    assert session(course, 1).is_signed is False


def test_signed_at_without_signed_by_is_rejected(course):
    with pytest.raises(IntegrityError), transaction.atomic():
        session(course, 1, signed_at=timezone.now(), signed_by=None)
    assert not course.sessions.exists()


def test_signed_by_without_signed_at_is_rejected(course):
    with pytest.raises(IntegrityError), transaction.atomic():
        session(course, 1, signed_at=None, signed_by=course.therapist)


def test_signing_a_session_by_update_without_a_signer_is_rejected(course):
    unsigned = session(course, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        TherapySession.objects.filter(pk=unsigned.pk).update(signed_at=timezone.now())


# --- Course: course_planned_sessions_in_range, course_end_date_after_start -----------------


@pytest.mark.parametrize("planned", [12, 14, 16])
def test_a_course_planning_12_to_16_sessions_saves(patient, planned):
    assert factories.CourseFactory(patient=patient, planned_sessions=planned).planned_sessions == planned


@pytest.mark.parametrize("planned", [11, 17])
def test_a_course_planning_outside_12_to_16_sessions_is_rejected(patient, planned):
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.CourseFactory(patient=patient, planned_sessions=planned)
    assert not Course.objects.filter(patient=patient).exists()


def test_changing_planned_sessions_to_17_by_update_is_rejected(course):
    with pytest.raises(IntegrityError), transaction.atomic():
        Course.objects.filter(pk=course.pk).update(planned_sessions=17)


@pytest.mark.parametrize("days_after_start", [0, 1, 90])
def test_a_course_ending_on_or_after_its_start_saves(patient, days_after_start):
    start = dt.date(2026, 9, 1)
    course = factories.CourseFactory(
        patient=patient, start_date=start, end_date=start + dt.timedelta(days=days_after_start)
    )
    assert course.pk is not None


def test_a_course_without_an_end_date_saves(patient):
    assert factories.CourseFactory(patient=patient, end_date=None).end_date is None


def test_a_course_ending_before_its_start_is_rejected(patient):
    start = dt.date(2026, 9, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.CourseFactory(patient=patient, start_date=start, end_date=start - dt.timedelta(days=1))
    assert not Course.objects.filter(patient=patient).exists()


# --- ProblemAreaFocus: one primary, area once, dispute stage -------------------------------


def focus(course, area, *, is_primary=False, dispute_stage=""):
    return factories.ProblemAreaFocusFactory(
        course=course, area=area, is_primary=is_primary, dispute_stage=dispute_stage
    )


def test_a_primary_and_a_secondary_focus_in_one_course_save(course):
    focus(course, ipt.ProblemArea.GRIEF, is_primary=True)
    focus(course, ipt.ProblemArea.ROLE_TRANSITION, is_primary=False)
    assert course.foci.count() == 2


def test_two_secondary_foci_in_one_course_save(course):
    focus(course, ipt.ProblemArea.GRIEF)
    focus(course, ipt.ProblemArea.ROLE_TRANSITION)
    assert course.foci.filter(is_primary=False).count() == 2


def test_primary_foci_in_two_courses_save(course, other_course):
    focus(course, ipt.ProblemArea.GRIEF, is_primary=True)
    focus(other_course, ipt.ProblemArea.GRIEF, is_primary=True)
    assert ProblemAreaFocus.objects.filter(is_primary=True).count() == 2


def test_two_primary_foci_in_one_course_are_rejected(course):
    focus(course, ipt.ProblemArea.GRIEF, is_primary=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        focus(course, ipt.ProblemArea.ROLE_TRANSITION, is_primary=True)
    assert course.foci.count() == 1


def test_promoting_a_secondary_focus_beside_a_primary_by_update_is_rejected(course):
    focus(course, ipt.ProblemArea.GRIEF, is_primary=True)
    secondary = focus(course, ipt.ProblemArea.ROLE_TRANSITION)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProblemAreaFocus.objects.filter(pk=secondary.pk).update(is_primary=True)


def test_the_same_area_twice_in_one_course_is_rejected(course):
    focus(course, ipt.ProblemArea.ROLE_TRANSITION, is_primary=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        focus(course, ipt.ProblemArea.ROLE_TRANSITION, is_primary=False)
    assert course.foci.count() == 1


def test_a_role_dispute_with_a_stage_saves(course):
    saved = focus(course, ipt.ProblemArea.ROLE_DISPUTE, dispute_stage=ipt.DisputeStage.IMPASSE)
    assert saved.dispute_stage == ipt.DisputeStage.IMPASSE


@pytest.mark.parametrize(
    "area",
    [ipt.ProblemArea.GRIEF, ipt.ProblemArea.ROLE_TRANSITION, ipt.ProblemArea.INTERPERSONAL_DEFICITS],
)
def test_a_non_dispute_focus_without_a_stage_saves(course, area):
    assert focus(course, area).dispute_stage == ""


def test_a_role_dispute_without_a_stage_is_rejected(course):
    with pytest.raises(IntegrityError), transaction.atomic():
        focus(course, ipt.ProblemArea.ROLE_DISPUTE, dispute_stage="")
    assert not course.foci.exists()


def test_a_grief_focus_with_a_dispute_stage_is_rejected(course):
    with pytest.raises(IntegrityError), transaction.atomic():
        focus(course, ipt.ProblemArea.GRIEF, dispute_stage=ipt.DisputeStage.RENEGOTIATION)
    assert not course.foci.exists()


def test_clearing_a_role_disputes_stage_by_update_is_rejected(course):
    dispute = focus(course, ipt.ProblemArea.ROLE_DISPUTE, dispute_stage=ipt.DisputeStage.IMPASSE)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProblemAreaFocus.objects.filter(pk=dispute.pk).update(dispute_stage="")


# --- RelationshipEntry: relationship_ring_1_to_3 -------------------------------------------


@pytest.mark.parametrize("ring", [1, 2, 3])
def test_a_relationship_in_ring_1_to_3_saves(course, ring):
    assert factories.RelationshipEntryFactory(course=course, closeness_ring=ring).closeness_ring == ring


@pytest.mark.parametrize("ring", [0, 4])
def test_a_relationship_outside_rings_1_to_3_is_rejected(course, ring):
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.RelationshipEntryFactory(course=course, closeness_ring=ring)
    assert not RelationshipEntry.objects.filter(course=course).exists()


# --- GoalReview: goal_review_once_per_session ----------------------------------------------


def test_a_goal_reviewed_in_two_sessions_saves(course):
    goal = factories.GoalFactory(focus=focus(course, ipt.ProblemArea.GRIEF, is_primary=True))
    factories.GoalReviewFactory(goal=goal, session=session(course, 1))
    factories.GoalReviewFactory(goal=goal, session=session(course, 2))
    assert goal.reviews.count() == 2


def test_two_goals_reviewed_in_one_session_save(course):
    one = factories.GoalFactory(focus=focus(course, ipt.ProblemArea.GRIEF, is_primary=True))
    two = factories.GoalFactory(focus=one.focus, text="See friends once a week")
    first = session(course, 1)
    factories.GoalReviewFactory(goal=one, session=first)
    factories.GoalReviewFactory(goal=two, session=first)
    assert first.goal_reviews.count() == 2


def test_a_goal_reviewed_twice_in_one_session_is_rejected(course):
    goal = factories.GoalFactory(focus=focus(course, ipt.ProblemArea.GRIEF, is_primary=True))
    first = session(course, 1)
    factories.GoalReviewFactory(goal=goal, session=first)
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.GoalReviewFactory(goal=goal, session=first, progress=GoalReview.Progress.ACHIEVED)
    assert goal.reviews.count() == 1


# --- MeasureResponse: total in range, item 9 only on PHQ-9, once per session ---------------


def phq9(course, items=None, **kwargs):
    return factories.MeasureResponseFactory(
        course=course, instrument=measures.Instrument.PHQ9, items=items or [1] * 9, **kwargs
    )


def gad7(course, items=None, **kwargs):
    return factories.MeasureResponseFactory(
        course=course, instrument=measures.Instrument.GAD7, items=items or [1] * 7, **kwargs
    )


@pytest.mark.parametrize("total", [0, 27])
def test_a_phq9_total_of_0_to_27_is_accepted_by_the_database(course, total):
    response = phq9(course)
    MeasureResponse.objects.filter(pk=response.pk).update(total=total)
    response.refresh_from_db()
    assert response.total == total


def test_a_phq9_total_of_28_is_rejected_by_the_database(course):
    response = phq9(course)
    with pytest.raises(IntegrityError), transaction.atomic():
        MeasureResponse.objects.filter(pk=response.pk).update(total=28)
    response.refresh_from_db()
    assert response.total == 9


def test_a_gad7_total_of_21_is_accepted_by_the_database(course):
    response = gad7(course)
    MeasureResponse.objects.filter(pk=response.pk).update(total=21)
    response.refresh_from_db()
    assert response.total == 21


def test_a_gad7_total_of_22_is_rejected_by_the_database(course):
    response = gad7(course)
    with pytest.raises(IntegrityError), transaction.atomic():
        MeasureResponse.objects.filter(pk=response.pk).update(total=22)
    response.refresh_from_db()
    assert response.total == 7


def test_relabelling_a_phq9_of_27_as_a_gad7_is_rejected_by_the_database(course):
    response = phq9(course, [3] * 9)
    with pytest.raises(IntegrityError), transaction.atomic():
        MeasureResponse.objects.filter(pk=response.pk).update(instrument=measures.Instrument.GAD7)


def test_an_item9_positive_phq9_saves(course):
    response = phq9(course, [0, 0, 0, 0, 0, 0, 0, 0, 2])
    response.refresh_from_db()
    assert response.item9_positive is True


def test_an_item9_positive_gad7_is_rejected_by_the_database(course):
    response = gad7(course)
    with pytest.raises(IntegrityError), transaction.atomic():
        MeasureResponse.objects.filter(pk=response.pk).update(item9_positive=True)
    response.refresh_from_db()
    assert response.item9_positive is False


def test_a_phq9_and_a_gad7_for_one_session_save(course):
    first = session(course, 1)
    phq9(course, session=first)
    gad7(course, session=first)
    assert first.measures.count() == 2


def test_the_same_instrument_in_two_sessions_saves(course):
    phq9(course, session=session(course, 1))
    phq9(course, session=session(course, 2))
    assert MeasureResponse.objects.filter(course=course).count() == 2


def test_the_same_instrument_twice_without_a_session_saves(course):
    phq9(course, session=None)
    phq9(course, session=None)
    assert MeasureResponse.objects.filter(course=course, session__isnull=True).count() == 2


def test_the_same_instrument_twice_for_one_session_is_rejected(course):
    first = session(course, 1)
    phq9(course, session=first)
    with pytest.raises(IntegrityError), transaction.atomic():
        phq9(course, [2] * 9, session=first)
    assert first.measures.count() == 1


# --- User: user_role_clinic_or_superuser ---------------------------------------------------


@pytest.mark.parametrize("role", list(User.Role))
def test_a_user_with_a_role_and_a_clinic_saves(clinic, role):
    user = User.objects.create(username=f"u-{role}", role=role, clinic=clinic)
    assert user.pk is not None


def test_a_superuser_with_no_role_and_no_clinic_saves():
    root = User.objects.create_superuser("root", "root@example.test", "a-long-password")
    assert root.role == ""
    assert root.clinic is None


def test_a_user_with_no_clinic_who_is_not_a_superuser_is_rejected():
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="orphan", role=User.Role.THERAPIST, clinic=None)
    assert not User.objects.filter(username="orphan").exists()


def test_a_user_with_a_clinic_but_no_role_who_is_not_a_superuser_is_rejected(clinic):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="roleless", role="", clinic=clinic)


def test_a_superuser_with_a_role_is_rejected():
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(
            username="root", is_superuser=True, is_staff=True, role=User.Role.CLINIC_ADMIN, clinic=None
        )
    assert not User.objects.filter(username="root").exists()


def test_a_superuser_with_a_clinic_is_rejected(clinic):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="root", is_superuser=True, is_staff=True, role="", clinic=clinic)


def test_promoting_a_therapist_to_superuser_without_clearing_role_and_clinic_is_rejected(therapist):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=therapist.pk).update(is_superuser=True)


# --- MeasureResponse.save(): derived fields ------------------------------------------------


def test_saving_a_measure_computes_total_band_and_item9(course):
    response = phq9(course, [3, 3, 3, 2, 2, 2, 1, 1, 1])
    response.refresh_from_db()
    assert response.total == 18
    assert response.band == measures.Band.MODERATELY_SEVERE
    assert response.item9_positive is True


def test_saving_a_gad7_computes_its_own_bands(course):
    response = gad7(course, [3, 3, 3, 3, 3, 0, 0])
    response.refresh_from_db()
    assert response.total == 15
    assert response.band == measures.Band.SEVERE
    assert response.item9_positive is False


def test_saving_after_the_items_change_recomputes_total_band_and_item9(course):
    response = phq9(course, [3, 3, 3, 2, 2, 2, 1, 1, 1])
    response.items = [0, 0, 1, 1, 0, 0, 0, 0, 0]
    response.save()
    response.refresh_from_db()
    assert response.total == 2
    assert response.band == measures.Band.MINIMAL
    assert response.item9_positive is False


def test_a_stale_total_set_by_hand_is_overwritten_on_save(course):
    response = phq9(course, [2] * 9)
    response.total, response.band, response.item9_positive = 0, measures.Band.MINIMAL, False
    response.save()
    response.refresh_from_db()
    assert response.total == 18
    assert response.band == measures.Band.MODERATELY_SEVERE
    assert response.item9_positive is True


@pytest.mark.parametrize(
    ("instrument", "items", "message"),
    [
        (measures.Instrument.PHQ9, [0] * 8, r"9 items, got 8"),
        (measures.Instrument.PHQ9, [0, 0, 4, 0, 0, 0, 0, 0, 0], r"item 3"),
        (measures.Instrument.GAD7, [0] * 9, r"7 items, got 9"),
        ("phq8", [0] * 8, r"Unknown instrument 'phq8'"),
    ],
)
def test_saving_a_measure_with_invalid_items_raises_value_error(course, instrument, items, message):
    response = MeasureResponse(
        patient=course.patient,
        course=course,
        instrument=instrument,
        items=items,
        taken_on=dt.date(2026, 9, 1),
    )
    with pytest.raises(ValueError, match=message):
        response.save()
    assert not MeasureResponse.objects.exists()


def test_invalid_items_fail_full_clean_with_a_validation_error_on_items(course):
    response = MeasureResponse(
        patient=course.patient,
        course=course,
        instrument=measures.Instrument.PHQ9,
        items=[0, 0, 4, 0, 0, 0, 0, 0, 0],
        taken_on=dt.date(2026, 9, 1),
    )
    with pytest.raises(ValidationError) as excinfo:
        response.full_clean()
    assert "items" in excinfo.value.message_dict
    assert "item 3" in " ".join(excinfo.value.message_dict["items"])


def test_valid_items_pass_full_clean(course):
    response = MeasureResponse(
        patient=course.patient,
        course=course,
        instrument=measures.Instrument.PHQ9,
        items=[1] * 9,
        taken_on=dt.date(2026, 9, 1),
    )
    response.full_clean()
