"""The role home pages, the record pages, /healthz, login/logout and their audit rows.

Access rules under test (DESIGN.md §5): every page but login, password reset
and /healthz needs a signed-in user; each home page is for one role (403 for
the others); a record outside the user's scope is a 404, exactly like a missing
one; pages here are GET-only; list pages run a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from sessions_app import ipt, measures
from sessions_app.models import AuditEvent, TherapySession
from tests import factories

pytestmark = pytest.mark.django_db

HOME_OF = {
    "therapist": "therapist-home",
    "clinic_admin": "clinic-home",
    "patient_user": "portal-home",
}
HOME_URL_NAMES = tuple(HOME_OF.values())
SIGNED_IN_PERSONAS = (*HOME_OF, "superuser")


def login_redirect(path: str) -> str:
    return f"{reverse('login')}?next={path}"


@pytest.fixture
def superuser():
    return factories.UserFactory(
        username="root", role="", clinic=None, is_superuser=True, is_staff=True, first_name="", last_name=""
    )


def signed_in(client, user):
    client.force_login(user)
    return client


# The home redirect ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "url_name"), HOME_OF.items())
def test_root_redirects_each_role_to_its_home(client, request, persona, url_name):
    signed_in(client, request.getfixturevalue(persona))
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == reverse(url_name)


def test_root_sends_a_superuser_to_django_admin(client, superuser):
    response = signed_in(client, superuser).get("/")
    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def test_root_sends_anonymous_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == login_redirect("/")


# Home pages: who may open which -------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "url_name"), HOME_OF.items())
def test_home_page_opens_for_its_role(client, request, persona, url_name):
    response = signed_in(client, request.getfixturevalue(persona)).get(reverse(url_name))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("persona", "url_name"),
    [(p, u) for p in SIGNED_IN_PERSONAS for u in HOME_URL_NAMES if HOME_OF.get(p) != u],
)
def test_home_page_is_forbidden_to_other_roles(client, request, persona, url_name):
    response = signed_in(client, request.getfixturevalue(persona)).get(reverse(url_name))
    assert response.status_code == 403


@pytest.mark.parametrize("url_name", HOME_URL_NAMES)
def test_home_page_sends_anonymous_to_login(client, url_name):
    url = reverse(url_name)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == login_redirect(url)


@pytest.mark.parametrize(("persona", "url_name"), HOME_OF.items())
def test_home_pages_are_get_only(client, request, persona, url_name):
    response = signed_in(client, request.getfixturevalue(persona)).post(reverse(url_name))
    assert response.status_code == 405


# Home pages: content ---------------------------------------------------------------------------------


def test_therapist_home_shows_course_position_phase_area_and_latest_phq9(
    client, therapist, patient, other_patient, other_course
):
    course = factories.CourseFactory(patient=patient, planned_sessions=14)
    for number in range(1, 6):  # sessions 1–3 are initial, 4–5 middle
        factories.TherapySessionFactory(course=course, number=number)
    # Cancelled sessions have no number and do not count.
    factories.TherapySessionFactory(
        course=course, number=None, attendance=TherapySession.Attendance.CANCELLED, date=dt.date(2026, 10, 20)
    )
    factories.ProblemAreaFocusFactory(course=course, area=ipt.ProblemArea.ROLE_TRANSITION, is_primary=True)
    factories.ProblemAreaFocusFactory(course=course, area=ipt.ProblemArea.GRIEF, is_primary=False)
    factories.MeasureResponseFactory(course=course, items=[3] * 9, taken_on=dt.date(2026, 9, 1))  # 27 severe
    factories.MeasureResponseFactory(  # 6 mild: the latest
        course=course, items=[1, 1, 1, 1, 1, 1, 0, 0, 0], taken_on=dt.date(2026, 9, 29)
    )
    factories.TherapySessionFactory(course=other_course, number=1)

    response = signed_in(client, therapist).get(reverse("therapist-home"))

    assert response.status_code == 200
    html = response.content.decode()
    assert escape(patient.full_name) in html
    assert "session 5 of 14" in html
    assert f"<td>{ipt.Phase.MIDDLE.label}</td>" in html
    # Both focus areas, the primary one first and marked as such.
    primary, second = ipt.ProblemArea.ROLE_TRANSITION.label, ipt.ProblemArea.GRIEF.label
    assert re.search(rf"{primary} <span[^>]*>\(primary\)</span><br>\s*{second}", html)
    assert re.search(rf"\b6 <span class=\"band band-mild\">{measures.Band.MILD.label}</span>", html)
    assert measures.Band.SEVERE.label not in html  # an older score
    assert "Grace" not in html and "Hopper" not in html
    assert escape(other_patient.full_name) not in html


def test_clinic_home_shows_the_clinics_therapists_and_patients_only(
    client, clinic_admin, therapist, other_therapist, course, other_course, other_clinic
):
    # The clinic home is the caseload dashboard: therapists by name, patients behind each count.
    foreign = factories.PatientFactory(clinic=other_clinic, given_name="Foreign", family_name="Outsider")
    factories.CourseFactory(patient=foreign)
    signed_in(client, clinic_admin)

    response = client.get(reverse("clinic-home"))

    assert response.status_code == 200
    html = response.content.decode()
    for name in (therapist.display_name, other_therapist.display_name):
        assert escape(name) in html
    assert escape(foreign.therapist.display_name) not in html
    assert response.context["headline"].cells["active"].value == 2

    listed = client.get(response.context["headline"].cells["active"].url).content.decode()
    for name in (course.patient.full_name, other_course.patient.full_name):
        assert escape(name) in listed
    assert "Outsider" not in html and "Outsider" not in listed


# Record pages -------------------------------------------------------------------------------------


@pytest.fixture
def records(course):
    session = factories.TherapySessionFactory(
        course=course, number=1, private_note="PRIVATE-NOTE-MARKER-7f3a"
    )
    return {"patient": course.patient, "course": course, "session": session}


RECORD_STATUS = {
    "therapist": 200,
    "clinic_admin": 200,
    "other_therapist": 404,
    "other_clinic_admin": 404,
    "patient_user": 403,  # staff-only pages, even for their own record
    "other_patient_user": 403,
    "superuser": 403,
}


@pytest.mark.parametrize("kind", ["patient", "course", "session"])
@pytest.mark.parametrize(("persona", "status"), RECORD_STATUS.items())
def test_record_page_access(client, request, records, kind, persona, status):
    response = signed_in(client, request.getfixturevalue(persona)).get(records[kind].get_absolute_url())
    assert response.status_code == status


@pytest.mark.parametrize("kind", ["patient", "course", "session"])
def test_record_page_sends_anonymous_to_login(client, records, kind):
    url = records[kind].get_absolute_url()
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == login_redirect(url)


@pytest.mark.parametrize("kind", ["patient", "course", "session"])
@pytest.mark.parametrize("persona", ["therapist", "clinic_admin"])
def test_record_pages_are_get_only(client, request, records, kind, persona):
    response = signed_in(client, request.getfixturevalue(persona)).post(records[kind].get_absolute_url())
    assert response.status_code == 405


@pytest.mark.parametrize("prefix", ["patients", "courses", "sessions"])
@pytest.mark.parametrize("tail", ["not-a-uuid", "12", "00000000-0000-0000-0000-00000000000Z"])
def test_malformed_uuid_in_url_is_404(client, therapist, records, prefix, tail):
    response = signed_in(client, therapist).get(f"/{prefix}/{tail}/")
    assert response.status_code == 404


@pytest.mark.parametrize("url_name", ["patient-detail", "course-detail", "session-detail"])
def test_unknown_uuid_is_404(client, therapist, records, url_name):
    url = reverse(url_name, kwargs={"public_id": "3f2504e0-4f89-41d3-9a0c-0305e82c3301"})
    response = signed_in(client, therapist).get(url)
    assert response.status_code == 404


def test_record_pages_show_the_record(client, therapist, records):
    signed_in(client, therapist)
    for kind in ("patient", "course", "session"):
        response = client.get(records[kind].get_absolute_url())
        assert escape(records["patient"].full_name) in response.content.decode(), kind


def test_private_note_shown_to_the_treating_therapist_only(client, therapist, clinic_admin, records):
    url = records["session"].get_absolute_url()

    response = signed_in(client, therapist).get(url)
    assert response.status_code == 200
    assert "PRIVATE-NOTE-MARKER-7f3a" in response.content.decode()

    client.logout()
    response = signed_in(client, clinic_admin).get(url)
    assert response.status_code == 200
    assert "PRIVATE-NOTE-MARKER-7f3a" not in response.content.decode()


# /healthz ---------------------------------------------------------------------------------------------


def test_healthz_is_public_and_writes_nothing(client, therapist):
    before = (AuditEvent.objects.count(), Session.objects.count())

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"]
    assert (AuditEvent.objects.count(), Session.objects.count()) == before
    assert "sessionid" not in response.cookies


# Login and logout ---------------------------------------------------------------------------------


def post_login(client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_login_page_is_public(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()


def test_wrong_password_and_unknown_user_get_the_same_generic_error(client, therapist):
    inactive = factories.TherapistFactory(clinic=therapist.clinic, username="gone", is_active=False)

    wrong_password = post_login(client, "therapist", "not-the-password")
    unknown_user = post_login(client, "nobody-by-this-name", "not-the-password")
    inactive_user = post_login(client, inactive.username, factories.PASSWORD)

    errors = []
    for response in (wrong_password, unknown_user, inactive_user):
        assert response.status_code == 200
        form = response.context["form"]
        assert not form.is_valid()
        assert set(form.errors) == {"__all__"}  # not pinned on the username field
        errors.append(form.non_field_errors())
    assert errors[0] == errors[1] == errors[2]
    message = errors[0][0]
    assert message in wrong_password.content.decode() or escape(message) in wrong_password.content.decode()
    for leak in ("does not exist", "no such user", "unknown user", "inactive", "wrong password"):
        assert leak not in message.lower()
    # Still signed out.
    assert "_auth_user_id" not in client.session


def test_failed_login_keeps_the_typed_username(client, therapist):
    response = post_login(client, "therapist", "not-the-password")
    assert response.context["form"]["username"].value() == "therapist"
    assert re.search(
        r'name="username"[^>]*value="therapist"|value="therapist"[^>]*name="username"',
        response.content.decode(),
    )


def test_overlong_username_is_a_form_error_not_a_server_error(client):
    response = post_login(client, "u" * 300, "whatever-password")
    assert response.status_code == 200
    assert "username" in response.context["form"].errors


@pytest.mark.parametrize(("persona", "url_name"), HOME_OF.items())
def test_correct_login_goes_to_root_then_the_role_home(client, request, persona, url_name):
    user = request.getfixturevalue(persona)

    response = post_login(client, user.username, factories.PASSWORD)

    assert response.status_code == 302
    assert response.url == "/"
    response = client.get(response.url)
    assert response.status_code == 302
    assert response.url == reverse(url_name)
    assert client.get(response.url).status_code == 200


def test_logout_is_post_only(client, therapist):
    signed_in(client, therapist)

    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("therapist-home")).status_code == 200  # still signed in

    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("therapist-home")).status_code == 302
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGOUT, user=therapist).count() == 1


# Audit rows of authentication ------------------------------------------------------------------------


def test_successful_login_writes_a_login_event(client, therapist):
    post_login(client, "therapist", factories.PASSWORD)

    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN)
    assert event.user == therapist
    assert event.username == "therapist"
    assert event.role == therapist.role
    assert event.clinic_id == therapist.clinic_id
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).exists()


@pytest.mark.parametrize("username", ["therapist", "nobody-by-this-name"])
def test_failed_login_writes_the_username_and_never_the_password(client, therapist, username):
    password = "Secret-Typed-Password-9431"

    post_login(client, username, password)

    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_FAILED)
    assert event.username == username
    assert event.user is None
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN).exists()
    for row in AuditEvent.objects.values():
        for value in row.values():
            assert password not in str(value)


# Query counts ----------------------------------------------------------------------------------------


def build_caseload(therapists, n: int) -> None:
    """`n` active patients spread over `therapists`, each with a course, three sessions,
    a primary focus and two PHQ-9s: everything the patient table shows."""
    for i in range(n):
        therapist = therapists[i % len(therapists)]
        patient = factories.PatientFactory(clinic=therapist.clinic, therapist=therapist)
        course = factories.CourseFactory(patient=patient)
        for number in (1, 2, 3):
            factories.TherapySessionFactory(course=course, number=number)
        factories.ProblemAreaFocusFactory(course=course)
        factories.MeasureResponseFactory(course=course, taken_on=dt.date(2026, 9, 1))
        factories.MeasureResponseFactory(course=course, items=[1] * 9, taken_on=dt.date(2026, 9, 15))


def build_goals(patient, n: int) -> None:
    """A course of `patient` with `n` visible goals (plus one hidden), each reviewed in two sessions."""
    course = factories.CourseFactory(patient=patient)
    focus = factories.ProblemAreaFocusFactory(course=course)
    sessions = [factories.TherapySessionFactory(course=course, number=k) for k in (1, 2)]
    for i in range(n + 1):
        goal = factories.GoalFactory(focus=focus, text=f"Goal {i}", visible_to_patient=i < n)
        for session in sessions:
            factories.GoalReviewFactory(goal=goal, session=session)


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.fixture
def caseload_builders(therapist, other_therapist, other_clinic, patient_user, patient):
    """Per home page: who signs in, and how to grow that page's list by n rows."""
    foreign_therapist = factories.TherapistFactory(clinic=other_clinic)
    return {
        "therapist-home": (therapist, lambda n: build_caseload([therapist, other_therapist], 2 * n)),
        "clinic-home": (None, lambda n: build_caseload([therapist, other_therapist, foreign_therapist], n)),
        "portal-home": (patient_user, lambda n: build_goals(patient, n)),
    }


@pytest.mark.parametrize("url_name", HOME_URL_NAMES)
def test_home_query_count_does_not_grow_with_rows(client, clinic_admin, caseload_builders, url_name):
    user, grow = caseload_builders[url_name]
    signed_in(client, user or clinic_admin)
    url = reverse(url_name)

    grow(2)
    small = count_queries(client, url)
    grow(20)
    large = count_queries(client, url)

    assert small == large


# Pinned counts; identical for a short and a long list (the therapist and clinic lists page at 25).
# Measured with CaptureQueriesContext (see count_queries), in the order they run:
#
# Therapist home, 6 queries:
#   1. SELECT the session row (django_session)
#   2. SELECT the signed-in user
#   3. SELECT COUNT(*) of the scoped active patients, for the paginator
#   4. INSERT the "list" audit row (the page itself is read lazily by the template)
#   5. SELECT the user's clinic, for the header in base.html
#   6. SELECT the page of patients, the current-course figures as correlated subqueries
THERAPIST_HOME_QUERIES = 6
# Clinic home: the caseload dashboard, 9 queries (listed in tests/test_caseload.py).
CLINIC_HOME_QUERIES = 9
# The portal pages' counts are pinned in tests/test_portal.py.


@pytest.mark.parametrize("n", [5, 50])
def test_therapist_home_query_count_is_pinned(
    client, therapist, other_therapist, django_assert_num_queries, n
):
    # Half the patients belong to the other therapist and stay off this page.
    build_caseload([therapist, other_therapist], 2 * n)
    signed_in(client, therapist)
    with django_assert_num_queries(THERAPIST_HOME_QUERIES):
        response = client.get(reverse("therapist-home"))
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == min(n, 25)


@pytest.mark.parametrize("n", [5, 50])
def test_clinic_home_query_count_is_pinned(
    client, clinic_admin, therapist, other_therapist, other_clinic, django_assert_num_queries, n
):
    build_caseload([therapist, other_therapist], n)
    build_caseload([factories.TherapistFactory(clinic=other_clinic)], 3)  # another clinic: not listed
    signed_in(client, clinic_admin)
    with django_assert_num_queries(CLINIC_HOME_QUERIES):
        response = client.get(reverse("clinic-home"))
    assert response.status_code == 200
    assert response.context["headline"].cells["active"].value == n
