"""factory-boy factories for every model. Defaults build a consistent record:
a session's course, patient, therapist and clinic all belong together."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from sessions_app import ipt, measures
from sessions_app.models import (
    AuditEvent,
    Clinic,
    Course,
    Goal,
    GoalReview,
    MeasureResponse,
    Patient,
    ProblemAreaFocus,
    RelationshipEntry,
    SessionAddendum,
    TherapySession,
    User,
)

PASSWORD = "correct-horse-battery-staple"


class ClinicFactory(DjangoModelFactory):
    class Meta:
        model = Clinic
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Clinic {n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    role = User.Role.THERAPIST
    clinic = factory.SubFactory(ClinicFactory)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TherapistFactory(UserFactory):
    role = User.Role.THERAPIST


class ClinicAdminFactory(UserFactory):
    role = User.Role.CLINIC_ADMIN


class PortalUserFactory(UserFactory):
    role = User.Role.PATIENT


class PatientFactory(DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    therapist = factory.SubFactory(TherapistFactory, clinic=factory.SelfAttribute("..clinic"))
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    date_of_birth = dt.date(1985, 4, 12)
    conditions = factory.LazyFunction(lambda: [Patient.Condition.DEPRESSION])
    medication = "Sertraline 50 mg daily"
    presenting_concerns = "Low mood since a change at work."


class CourseFactory(DjangoModelFactory):
    class Meta:
        model = Course

    patient = factory.SubFactory(PatientFactory)
    therapist = factory.SelfAttribute("patient.therapist")
    planned_sessions = 12
    start_date = dt.date(2026, 9, 1)


class RelationshipEntryFactory(DjangoModelFactory):
    class Meta:
        model = RelationshipEntry

    course = factory.SubFactory(CourseFactory)
    name = factory.Faker("first_name")
    relationship = RelationshipEntry.Relationship.FRIEND
    closeness_ring = 2


class ProblemAreaFocusFactory(DjangoModelFactory):
    class Meta:
        model = ProblemAreaFocus

    course = factory.SubFactory(CourseFactory)
    area = ipt.ProblemArea.ROLE_TRANSITION
    is_primary = True
    old_role = "Employed"
    new_role = "Retired"


class TherapySessionFactory(DjangoModelFactory):
    class Meta:
        model = TherapySession

    course = factory.SubFactory(CourseFactory)
    number = factory.Sequence(lambda n: n + 1)
    date = factory.LazyAttribute(lambda s: s.course.start_date + dt.timedelta(weeks=(s.number or 1) - 1))
    phase = factory.LazyAttribute(
        lambda s: ipt.default_phase(s.number, s.course.planned_sessions) if s.number else ipt.Phase.INITIAL
    )


class SessionAddendumFactory(DjangoModelFactory):
    class Meta:
        model = SessionAddendum

    session = factory.SubFactory(TherapySessionFactory)
    author = factory.SelfAttribute("session.course.therapist")
    text = "Addendum: the date of the next session changed."


class GoalFactory(DjangoModelFactory):
    class Meta:
        model = Goal

    focus = factory.SubFactory(ProblemAreaFocusFactory)
    text = "Feel settled in my new routine"
    visible_to_patient = True


class GoalReviewFactory(DjangoModelFactory):
    class Meta:
        model = GoalReview

    goal = factory.SubFactory(GoalFactory)
    session = factory.SubFactory(TherapySessionFactory, course=factory.SelfAttribute("..goal.focus.course"))
    progress = GoalReview.Progress.SOME


class MeasureResponseFactory(DjangoModelFactory):
    class Meta:
        model = MeasureResponse

    course = factory.SubFactory(CourseFactory)
    patient = factory.SelfAttribute("course.patient")
    instrument = measures.Instrument.PHQ9
    items = factory.LazyFunction(lambda: [2, 2, 1, 2, 1, 1, 1, 0, 0])
    taken_on = dt.date(2026, 9, 1)


class AuditEventFactory(DjangoModelFactory):
    class Meta:
        model = AuditEvent

    user = factory.SubFactory(ClinicAdminFactory)
    username = factory.SelfAttribute("user.username")
    role = factory.SelfAttribute("user.role")
    clinic = factory.SelfAttribute("user.clinic")
    action = AuditEvent.Action.VIEW
    object_type = "Patient"


# --- Session log (issue 3) -------------------------------------------------------------------------------


class RoleDisputeFocusFactory(ProblemAreaFocusFactory):
    area = ipt.ProblemArea.ROLE_DISPUTE
    dispute_stage = ipt.DisputeStage.RENEGOTIATION
    old_role = ""
    new_role = ""


class SignedTherapySessionFactory(TherapySessionFactory):
    """A session signed by its course's therapist (signed on the first save, as the model allows)."""

    signed_by = factory.SelfAttribute("course.therapist")
    signed_at = factory.LazyFunction(lambda: dt.datetime(2026, 9, 1, 17, 0, tzinfo=dt.UTC))


class CancelledTherapySessionFactory(TherapySessionFactory):
    number = None
    attendance = TherapySession.Attendance.CANCELLED


# --- Course page and initial phase (issue 3) -----------------------------------------------------------


class ContractRevisionFactory(DjangoModelFactory):
    class Meta:
        # By label: the imports above belong to the original factories.
        model = "sessions_app.ContractRevision"

    course = factory.SubFactory(CourseFactory)
    previous_planned_sessions = 12
    planned_sessions = 14
    reason = "Two sessions lost to illness; agreed to extend."
    revised_by = factory.SelfAttribute("course.therapist")
    revised_on = dt.date(2026, 11, 1)


# --- Therapist dashboard (issue 3) ---------------------------------------------------------------------


class CompletedCourseFactory(CourseFactory):
    status = Course.Status.COMPLETED
    end_date = factory.LazyAttribute(lambda c: c.start_date + dt.timedelta(weeks=12))
    end_reason = "All planned sessions held."


class DiscontinuedCourseFactory(CourseFactory):
    status = Course.Status.DISCONTINUED
    end_date = factory.LazyAttribute(lambda c: c.start_date + dt.timedelta(weeks=4))
    end_reason = "Moved out of the area."


# --- Running the clinic (issue 4) ----------------------------------------------------------------------


class ReassignmentFactory(DjangoModelFactory):
    class Meta:
        model = "sessions_app.Reassignment"

    course = factory.SubFactory(CourseFactory)
    patient = factory.SelfAttribute("course.patient")
    from_therapist = factory.SelfAttribute("course.therapist")
    to_therapist = factory.SubFactory(TherapistFactory, clinic=factory.SelfAttribute("..patient.clinic"))
    reason = "Therapist on long-term leave."
    reassigned_by = factory.SubFactory(ClinicAdminFactory, clinic=factory.SelfAttribute("..patient.clinic"))


# --- Emergency access (issue 5) ------------------------------------------------------------------------


class EmergencyAccessFactory(DjangoModelFactory):
    """A running four-hour grant for a therapist of the patient's clinic who does not treat them."""

    class Meta:
        model = "sessions_app.EmergencyAccess"

    patient = factory.SubFactory(PatientFactory)
    user = factory.SubFactory(TherapistFactory, clinic=factory.SelfAttribute("..patient.clinic"))
    reason = "Patient called the crisis line; their therapist is on leave today."
    started_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda grant: grant.started_at + dt.timedelta(hours=4))
