"""Chainable QuerySets for lists that must not run a query per row."""

from __future__ import annotations

from django.apps import apps
from django.db import models
from django.db.models import Count, OuterRef, Subquery


def _model(name: str) -> type[models.Model]:
    # QuerySets are defined before the models that use them; look models up lazily.
    return apps.get_model("sessions_app", name)


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


class CourseQuerySet(models.QuerySet):
    def active(self) -> CourseQuerySet:
        return self.filter(status="active")
