"""Going past the contract: a session beyond the planned number needs a revised contract first.

Issue 3: "Going past the planned number requires a contract revision with a
reason." Maintenance IPT agreed at termination is the one exception: those
sessions follow the course by design.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from sessions_app import ipt
from sessions_app.models import Course, TherapySession
from sessions_app.services import courses as course_services
from sessions_app.services.sessions import BEYOND_CONTRACT_MESSAGE
from tests import factories
from tests.test_session_form import TODAY, add_attended, new_url, post_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_course(patient):
    """A 12-session course whose 12 sessions have all been held."""
    course = factories.CourseFactory(
        patient=patient, planned_sessions=12, start_date=TODAY - dt.timedelta(weeks=13)
    )
    add_attended(course, 12)
    return course


def test_session_beyond_the_contract_is_refused_with_the_way_forward(client, therapist, full_course):
    client.force_login(therapist)

    response = client.post(new_url(full_course), post_data(phase=ipt.Phase.MAINTENANCE))

    assert response.status_code == 200
    errors = response.context["form"].main.non_field_errors()
    assert BEYOND_CONTRACT_MESSAGE.format(planned=12, number=13) in errors
    assert not TherapySession.objects.filter(course=full_course, number=13).exists()
    # What was typed comes back.
    assert response.context["form"].main["events_since_last"].value().startswith("Argued with Sam")


def test_a_revised_contract_lets_the_next_session_be_logged(client, therapist, full_course):
    course_services.course_contract_revise(
        course=full_course,
        planned_sessions=14,
        reason="Grief work needs two more weeks.",
        by=therapist,
        on=TODAY,
    )
    client.force_login(therapist)

    response = client.post(new_url(full_course), post_data(phase=ipt.Phase.TERMINATION))

    assert response.status_code == 302
    assert TherapySession.objects.filter(course=full_course, number=13).exists()


def test_agreed_maintenance_sessions_may_follow_the_course(client, therapist, full_course):
    full_course.continuation_decision = Course.Continuation.MAINTENANCE
    full_course.save(update_fields=["continuation_decision"])
    client.force_login(therapist)

    response = client.post(new_url(full_course), post_data(phase=ipt.Phase.MAINTENANCE))

    assert response.status_code == 302
    assert TherapySession.objects.filter(course=full_course, number=13).exists()


def test_cancelled_sessions_beyond_the_contract_are_still_recorded(client, therapist, full_course):
    # A cancellation takes no number, so it never goes past the contract.
    client.force_login(therapist)

    response = client.post(
        new_url(full_course),
        post_data(attendance=TherapySession.Attendance.CANCELLED, phq9=None, phase=ipt.Phase.MAINTENANCE),
    )

    assert response.status_code == 302
    assert TherapySession.objects.filter(course=full_course, attendance="cancelled").count() == 1


def test_the_revise_link_is_on_the_course_page(client, therapist, full_course):
    client.force_login(therapist)
    response = client.get(full_course.get_absolute_url())
    revise_url = reverse("course-revise-contract", kwargs={"public_id": full_course.public_id})
    assert revise_url in response.content.decode()


def test_the_form_warns_before_anything_is_typed(client, therapist, full_course):
    client.force_login(therapist)
    body = client.get(new_url(full_course)).content.decode()
    assert 'data-testid="beyond-contract"' in body
    assert reverse("course-revise-contract", kwargs={"public_id": full_course.public_id}) in body


def test_no_warning_within_the_contract(client, therapist, patient):
    course = factories.CourseFactory(
        patient=patient, planned_sessions=12, start_date=TODAY - dt.timedelta(weeks=4)
    )
    add_attended(course, 3)
    client.force_login(therapist)
    assert 'data-testid="beyond-contract"' not in client.get(new_url(course)).content.decode()
