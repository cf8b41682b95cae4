"""Chainable QuerySets for lists that must not run a query per row."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import (
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact

from sessions_app import ipt, measures


def _model(name: str) -> type[models.Model]:
    # QuerySets are defined before the models that use them; look models up lazily.
    return apps.get_model("sessions_app", name)


def _count(queryset: models.QuerySet) -> Coalesce:
    """COUNT(*) of a correlated queryset as a subquery: 0, never NULL, when nothing matches."""
    # COUNT over the whole subquery, with no GROUP BY: one row even when nothing matches.
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Coalesce(Subquery(counted[:1], output_field=models.IntegerField()), 0)


def focus_flag(area: str) -> str:
    """The name of the dashboard annotation saying the current course has a focus in `area`."""
    return f"focus_{area}"


def item9_unresolved(course: OuterRef) -> Exists:
    """Whether the course has a PHQ-9 with item 9 positive and no risk check after it.

    An item-9-positive PHQ-9 is resolved by a risk check recorded in a session of
    the course on or after the day it was taken: its own session, or (for the
    intake PHQ-9 of the initial stepper, which has no session) a later one.
    """
    TherapySession = _model("TherapySession")
    MeasureResponse = _model("MeasureResponse")
    risk_checked = TherapySession.objects.filter(
        course_id=OuterRef("course_id"), date__gte=OuterRef("taken_on")
    ).exclude(risk_ideation="")
    return Exists(
        MeasureResponse.objects.filter(
            course_id=course, instrument=measures.Instrument.PHQ9, item9_positive=True
        ).filter(~Exists(risk_checked))
    )


def phase_now(latest_phase: str, middle_phase_started_on: str) -> Case:
    """The rule of ipt.current_phase() in SQL, from the named latest-session phase and
    initial-closed date, so that lists can be filtered and counted by phase in the database
    (a test holds the two together)."""
    return Case(
        When(
            Q(**{f"{latest_phase}__isnull": True}) | Q(**{latest_phase: ipt.Phase.INITIAL}),
            then=Case(
                When(**{f"{middle_phase_started_on}__isnull": False}, then=Value(ipt.Phase.MIDDLE.value)),
                default=Value(ipt.Phase.INITIAL.value),
            ),
        ),
        default=F(latest_phase),
        output_field=models.CharField(),
    )



# The dashboard's status filter: the status of the patient's current course,
# or no course at all, or anything.
NO_COURSE = "none"
ANY_STATUS = "all"


class PatientQuerySet(models.QuerySet):
    def active(self) -> PatientQuerySet:
        return self.filter(archived_at__isnull=True)

    def with_current_course(self) -> PatientQuerySet:
        """Annotate each patient with their current course and its position.

        The current course is the most recent one. All figures come from
        correlated subqueries, so a page of patients is a single query.
        """
        Course = _model("Course")
        TherapySession = _model("TherapySession")
        ProblemAreaFocus = _model("ProblemAreaFocus")
        MeasureResponse = _model("MeasureResponse")

        courses = Course.objects.filter(patient=OuterRef("pk")).order_by("-start_date", "-pk")
        attended = TherapySession.objects.filter(
            course_id=OuterRef("current_course_id"), attendance="attended"
        )
        sessions_done = attended.order_by().values("course_id").annotate(n=Count("pk")).values("n")
        latest_session = attended.order_by("-number")
        primary = ProblemAreaFocus.objects.filter(course_id=OuterRef("current_course_id"), is_primary=True)
        latest_phq9 = MeasureResponse.objects.filter(patient=OuterRef("pk"), instrument="phq9").order_by(
            "-taken_on", "-created_at"
        )
        return self.annotate(
            current_course_id=Subquery(courses.values("pk")[:1]),
            current_course_public_id=Subquery(courses.values("public_id")[:1]),
            current_course_status=Subquery(courses.values("status")[:1]),
            planned_sessions=Subquery(courses.values("planned_sessions")[:1]),
            sessions_done=Subquery(sessions_done[:1]),
            latest_phase=Subquery(latest_session.values("phase")[:1]),
            last_session_on=Subquery(latest_session.values("date")[:1]),
            primary_area=Subquery(primary.values("area")[:1]),
            latest_phq9_total=Subquery(latest_phq9.values("total")[:1]),
            latest_phq9_band=Subquery(latest_phq9.values("band")[:1]),
            latest_phq9_on=Subquery(latest_phq9.values("taken_on")[:1]),
        )

    def with_course_state(self) -> PatientQuerySet:
        """`with_current_course()` plus everything the therapist dashboard shows and computes
        next actions from (see `course_state`), still one query for a page of patients.

        Adds: the course's start date, whether the initial phase is closed, the
        current phase (`current_phase`, as `ipt.current_phase` decides it), the
        inventory size, unsigned notes, an unresolved PHQ-9 item 9, ending
        discussed, maintenance agreed, one `focus_<area>` flag per problem area,
        and the course's own baseline and latest PHQ-9 (`course_phq9_*`).
        """
        Course = _model("Course")
        TherapySession = _model("TherapySession")
        ProblemAreaFocus = _model("ProblemAreaFocus")
        RelationshipEntry = _model("RelationshipEntry")
        MeasureResponse = _model("MeasureResponse")

        current = Course.objects.filter(pk=OuterRef("current_course_id"))
        course_phq9 = MeasureResponse.objects.filter(
            course_id=OuterRef("current_course_id"), instrument=measures.Instrument.PHQ9
        )
        baseline = course_phq9.order_by("taken_on", "created_at")
        latest = course_phq9.order_by("-taken_on", "-created_at")

        queryset = self.with_current_course().annotate(
            course_start_date=Subquery(current.values("start_date")[:1]),
            middle_phase_started_on=Subquery(current.values("middle_phase_started_on")[:1]),
            ending_discussed_on=Subquery(current.values("ending_discussed_on")[:1]),
            continuation_decision=Subquery(current.values("continuation_decision")[:1]),
            inventory_count=_count(RelationshipEntry.objects.filter(course_id=OuterRef("current_course_id"))),
            unsigned_count=_count(
                TherapySession.objects.filter(course_id=OuterRef("current_course_id"), signed_at__isnull=True)
            ),
            item9_unresolved=item9_unresolved(OuterRef("current_course_id")),
            course_phq9_count=_count(course_phq9),
            course_phq9_baseline=Subquery(baseline.values("total")[:1]),
            course_phq9_latest=Subquery(latest.values("total")[:1]),
            course_phq9_latest_band=Subquery(latest.values("band")[:1]),
            course_phq9_latest_on=Subquery(latest.values("taken_on")[:1]),
            **{
                focus_flag(area): Exists(
                    ProblemAreaFocus.objects.filter(course_id=OuterRef("current_course_id"), area=area)
                )
                for area in ipt.ProblemArea.values
            },
        )
        # The same rule as ipt.current_phase(), in SQL so that the list can be
        # filtered by phase and paged in the database (a test holds them together).
        return queryset.annotate(
            current_phase=Case(
                When(current_course_id__isnull=True, then=Value(None, output_field=models.CharField())),
                default=phase_now("latest_phase", "middle_phase_started_on"),
                output_field=models.CharField(),
            )
        )

    def search(self, text: str) -> PatientQuerySet:
        """Patients whose given or family name contains every word of `text` (any case)."""
        queryset = self
        for word in text.split():
            queryset = queryset.filter(Q(given_name__icontains=word) | Q(family_name__icontains=word))
        return queryset

    def with_course_status(self, status: str) -> PatientQuerySet:
        """Patients whose current course has `status`; NO_COURSE for none yet, ANY_STATUS for all.

        Needs `with_current_course()` first.
        """
        if status == ANY_STATUS:
            return self
        if status == NO_COURSE:
            return self.filter(current_course_id__isnull=True)
        return self.filter(current_course_status=status)

    def in_phase(self, phase: str) -> PatientQuerySet:
        """Patients whose current course is in `phase` now. Needs `with_course_state()` first."""
        return self.filter(current_phase=phase)

    def with_focus_area(self, area: str) -> PatientQuerySet:
        """Patients whose current course works on `area`. Needs `with_course_state()` first."""
        return self.filter(**{focus_flag(area): True})


def focus_areas(row: Any) -> list[str]:
    """The problem areas of a `with_course_state()` row, the primary one first."""
    others = [
        area for area in ipt.ProblemArea.values if getattr(row, focus_flag(area)) and area != row.primary_area
    ]
    return [row.primary_area, *others] if row.primary_area else others


def course_state(row: Any, *, today: date) -> ipt.CourseState | None:
    """The facts `ipt.next_actions` needs, from a `with_course_state()` row.

    None when the patient has no current course or it is not active: next
    actions are for courses that are running.
    """
    Course = _model("Course")
    if row.current_course_id is None or row.current_course_status != Course.Status.ACTIVE:
        return None
    return ipt.CourseState(
        planned_sessions=row.planned_sessions,
        sessions_done=row.sessions_done or 0,
        inventory_count=row.inventory_count,
        has_primary_focus=row.primary_area is not None,
        item9_unresolved=bool(row.item9_unresolved),
        unsigned_count=row.unsigned_count,
        ending_discussed=row.ending_discussed_on is not None,
        maintenance_agreed=row.continuation_decision == Course.Continuation.MAINTENANCE,
        last_session_on=row.last_session_on,
        start_date=row.course_start_date,
        today=today,
    )


class CourseQuerySet(models.QuerySet):
    def active(self) -> CourseQuerySet:
        return self.filter(status="active")

    def with_caseload_figures(self, *, today: date) -> CourseQuerySet:
        """Annotate each course with what the clinic caseload dashboard counts, one query for any
        number of courses (correlated subqueries).

        The facts: `sessions_done`, `last_session_on`, `latest_phase`, `primary_area`,
        `has_focus` and one `focus_<area>` flag per problem area; `item9_unresolved`;
        `late_unsigned_count` (notes left unsigned past ipt.SIGN_NOTES_WITHIN_HOURS); and
        `<instrument>_count`, `_baseline`, `_latest` and `_change` for PHQ-9 and GAD-7 (the
        course's own scores, first and latest). From them, for display, the flags of
        `caseload_conditions()` (`is_overdue`, `is_deteriorating`, `has_risk_flag`,
        `is_past_plan`) and `current_phase` (None unless active).

        Counts and filters should use `caseload_conditions()` and `in_phase()` rather than the
        flags: they refer to the facts only, so that an aggregate over this queryset (pushed
        into a subquery by Django) works out each fact once per course.
        """
        TherapySession = _model("TherapySession")
        ProblemAreaFocus = _model("ProblemAreaFocus")
        MeasureResponse = _model("MeasureResponse")

        attended = TherapySession.objects.filter(course_id=OuterRef("pk"), attendance="attended")
        latest_session = attended.order_by("-number")
        late_unsigned = TherapySession.objects.filter(
            course_id=OuterRef("pk"), signed_at__isnull=True, date__lt=ipt.unsigned_note_late_before(today)
        )
        foci = ProblemAreaFocus.objects.filter(course_id=OuterRef("pk"))
        scores: dict[str, Any] = {}
        for instrument in measures.Instrument.values:
            responses = MeasureResponse.objects.filter(course_id=OuterRef("pk"), instrument=instrument)
            scores[f"{instrument}_count"] = _count(responses)
            scores[f"{instrument}_baseline"] = Subquery(
                responses.order_by("taken_on", "created_at").values("total")[:1]
            )
            scores[f"{instrument}_latest"] = Subquery(
                responses.order_by("-taken_on", "-created_at").values("total")[:1]
            )
        queryset = self.annotate(
            sessions_done=_count(attended),
            last_session_on=Subquery(latest_session.values("date")[:1]),
            latest_phase=Subquery(latest_session.values("phase")[:1]),
            primary_area=Subquery(foci.filter(is_primary=True).values("area")[:1]),
            has_focus=Exists(foci),
            item9_unresolved=item9_unresolved(OuterRef("pk")),
            late_unsigned_count=_count(late_unsigned),
            **scores,
            **{focus_flag(area): Exists(foci.filter(area=area)) for area in ipt.ProblemArea.values},
        )
        conditions = caseload_conditions(today)
        return queryset.annotate(
            **{
                f"{instrument}_change": ExpressionWrapper(
                    F(f"{instrument}_latest") - F(f"{instrument}_baseline"),
                    output_field=models.IntegerField(),
                )
                for instrument in measures.Instrument.values
            },
            current_phase=Case(
                When(conditions["active"], then=phase_now("latest_phase", "middle_phase_started_on")),
                default=Value(None, output_field=models.CharField()),
                output_field=models.CharField(),
            ),
            is_overdue=ExpressionWrapper(conditions["overdue"], models.BooleanField()),
            is_deteriorating=ExpressionWrapper(conditions["deteriorating"], models.BooleanField()),
            has_risk_flag=ExpressionWrapper(conditions["risk"], models.BooleanField()),
            is_past_plan=ExpressionWrapper(conditions["past_plan"], models.BooleanField()),
        )


def caseload_conditions(today: date) -> dict[str, Q]:
    """What makes a course count on the caseload dashboard, as conditions on the facts that
    `CourseQuerySet.with_caseload_figures()` annotates.

    * active: the course is running;
    * overdue: active, and no attended session (or, before the first, the start) in
      ipt.OVERDUE_AFTER_DAYS days or more, as ipt.next_actions has it;
    * item9: active, with a PHQ-9 item 9 positive and no risk check after it;
    * deteriorating: active, and PHQ-9 or GAD-7 risen by the margin measures.outcome() calls
      reliable deterioration (two scores needed; a test holds the two together);
    * risk: item9 or deteriorating;
    * past_plan: active, more sessions held than planned, and no maintenance agreed.
    """
    Course = _model("Course")
    active = Q(status=Course.Status.ACTIVE)
    overdue_on = today - timedelta(days=ipt.OVERDUE_AFTER_DAYS)
    rises = Q()
    for instrument in measures.Instrument.values:
        margin = measures.RELIABLE_CHANGE[instrument]
        rises |= Q(
            **{
                f"{instrument}_count__gte": 2,
                f"{instrument}_latest__gte": F(f"{instrument}_baseline") + margin,
            }
        )
    return {
        "active": active,
        "overdue": active
        & (Q(last_session_on__lte=overdue_on) | Q(last_session_on__isnull=True, start_date__lte=overdue_on)),
        "item9": active & Q(item9_unresolved=True),
        "deteriorating": active & rises,
        "risk": active & (Q(item9_unresolved=True) | rises),
        "past_plan": active
        & Q(sessions_done__gt=F("planned_sessions"))
        & ~Q(continuation_decision=Course.Continuation.MAINTENANCE),
    }


def in_phase(phase: str) -> Q:
    """Active courses in `phase` now (ipt.current_phase's rule, from the facts of
    `with_caseload_figures()`)."""
    Course = _model("Course")
    now = phase_now("latest_phase", "middle_phase_started_on")
    return Q(status=Course.Status.ACTIVE) & Q(Exact(now, phase))


class TherapySessionQuerySet(models.QuerySet):
    """`update()` and `delete()` skip `TherapySession.save()`/`.delete()`, and with them the lock on
    signed sessions; so do `bulk_update()` (built on `update()`) and the Django admin's bulk
    delete. Both refuse here when the rows include a signed session, and `update()` writes
    unsigned rows only, so a session signed in between is not changed either."""

    def _refuse_if_signed(self) -> None:
        signed = self.filter(signed_at__isnull=False).order_by().first()
        if signed is not None:
            from sessions_app.models import SignedSessionLocked  # models imports this module

            raise SignedSessionLocked(signed)

    def update(self, **kwargs: Any) -> int:
        self._refuse_if_signed()
        return super(TherapySessionQuerySet, self.filter(signed_at__isnull=True)).update(**kwargs)

    update.alters_data = True

    def delete(self) -> tuple[int, dict[str, int]]:
        self._refuse_if_signed()
        return super().delete()

    delete.alters_data = True
    delete.queryset_only = True
