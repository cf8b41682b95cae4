"""The access matrix: every route, as every persona, for GET and for POST.

Each route of the project (read from the URL configuration by
`tests.crawl.routes`, so a route added tomorrow fails `test_every_route_is_classified`
until it has a row here) is requested with the public ids of one patient's
record (`crawl.full_record`): the treating therapist, the clinic admin and the
patient own it; the other therapist (same clinic), the other clinic's admin
and another patient do not. The expected status of every request is in
`MATRIX`, derived from the app's rules (`sessions_app/decorators.py`: wrong
role → 403; `sessions_app/access.py`: out-of-scope row → 404, like a missing
one; DESIGN.md §5; docs/decisions.md "Access"):

* `OK`    — the page answered (200) or did its work / showed the form again (302);
* `LOGIN` — anonymous: redirected to the sign-in page;
* `403`, `404`, `405` (method not allowed), `410` (an unusable activation link).

POSTs carry an empty body: the point is the status class, not the action.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests import crawl, factories

pytestmark = pytest.mark.django_db

PERSONAS = (
    "anonymous",
    "therapist",
    "other_therapist",
    "clinic_admin",
    "other_clinic_admin",
    "patient_user",
    "other_patient_user",
)
SHORT = dict(zip(PERSONAS, ("anon", "ther", "oth-ther", "admin", "oth-admin", "pat", "oth-pat"), strict=True))

OK, LOGIN = "OK", "LOGIN"

# `patient`'s record is the target: ther, admin and pat own it; oth-ther, oth-admin and oth-pat do not.
# 400 = the form shown again with its errors (a permitted user, empty body).
#                                      anon  ther  oth-  admin oth-  pat   oth-
#                                                  ther        admin       pat
GET: dict[str, str] = {
    # Public, or any signed-in user: their own account.
    "login":                           "OK    OK    OK    OK    OK    OK    OK",
    "logout":                          "LOGIN 405   405   405   405   405   405",
    "password_change":                 "LOGIN OK    OK    OK    OK    OK    OK",
    "password_change_done":            "LOGIN OK    OK    OK    OK    OK    OK",
    "healthz":                         "OK    OK    OK    OK    OK    OK    OK",
    "home":                            "LOGIN OK    OK    OK    OK    OK    OK",
    "account-activate":                "410   410   410   410   410   410   410",
    "account-activate-done":           "OK    OK    OK    OK    OK    OK    OK",
    "two-factor-manage":               "LOGIN OK    OK    OK    OK    OK    OK",
    "two-factor-setup":                "LOGIN OK    OK    OK    OK    OK    OK",
    "two-factor-verify":               "LOGIN OK    OK    OK    OK    OK    OK",
    "two-factor-backup-codes":         "LOGIN OK    OK    OK    OK    OK    OK",
    "two-factor-new-codes":            "LOGIN 405   405   405   405   405   405",
    "two-factor-remove":               "LOGIN 405   405   405   405   405   405",
    "session-ping":                    "LOGIN 405   405   405   405   405   405",
    "session-timeout":                 "LOGIN OK    OK    OK    OK    OK    OK",
    # Staff pages over the patient's record: therapist-only writes, reads for the clinic's admin too.
    "patient-detail":                  "LOGIN OK    404   OK    404   403   403",
    "course-detail":                   "LOGIN OK    404   OK    404   403   403",
    "course-history":                  "LOGIN OK    404   OK    404   403   403",
    "session-detail":                  "LOGIN OK    404   OK    404   403   403",
    "patient-portal-account":          "LOGIN OK    404   OK    404   403   403",
    "patient-portal-link":             "LOGIN 405   405   405   405   403   403",
    "therapist-home":                  "LOGIN OK    OK    403   403   403   403",
    "patient-create":                  "LOGIN OK    OK    403   403   403   403",
    "emergency-access":                "LOGIN OK    OK    403   403   403   403",
    "emergency-access-end":            "LOGIN 405   405   403   403   403   403",
    "course-start":                    "LOGIN OK    404   403   404   403   403",
    "course-complete":                 "LOGIN OK    404   403   404   403   403",
    "course-discontinue":              "LOGIN OK    404   403   404   403   403",
    "course-revise-contract":          "LOGIN OK    404   403   404   403   403",
    "course-middle-phase":             "LOGIN OK    404   403   404   403   403",
    "initial-start":                   "LOGIN OK    404   403   404   403   403",
    "initial-step":                    "LOGIN OK    404   403   404   403   403",
    "initial-person-edit":             "LOGIN OK    404   403   404   403   403",
    "initial-person-remove":           "LOGIN 405   405   405   405   403   403",
    "session-create":                  "LOGIN OK    404   403   404   403   403",
    "session-edit":                    "LOGIN OK    404   403   404   403   403",
    "session-addendum-create":         "LOGIN 405   405   405   405   403   403",
    "account-link-shown":              "LOGIN OK    OK    OK    OK    403   403",
    # The clinic admin's pages: their own clinic only.
    "clinic-home":                     "LOGIN 403   403   OK    OK    403   403",
    "clinic-patients":                 "LOGIN 403   403   OK    OK    403   403",
    "clinic-export":                   "LOGIN 403   403   OK    OK    403   403",
    "clinic-staff":                    "LOGIN 403   403   OK    OK    403   403",
    "clinic-staff-new":                "LOGIN 403   403   OK    OK    403   403",
    "clinic-audit-log":                "LOGIN 403   403   OK    OK    403   403",
    "clinic-audit-export":             "LOGIN 403   403   OK    OK    403   403",
    "clinic-course-summary":           "LOGIN 403   403   OK    404   403   403",
    "patient-reassign":                "LOGIN 403   403   OK    404   403   403",
    "clinic-staff-deactivate":         "LOGIN 403   403   OK    404   403   403",
    "clinic-staff-reactivate":         "LOGIN 403   403   405   405   403   403",
    "clinic-staff-link":               "LOGIN 403   403   405   405   403   403",
    "clinic-staff-two-factor-reset":   "LOGIN 403   403   405   405   403   403",
    # The patient's portal: their own record only (there is no id in these URLs).
    "portal-home":                     "LOGIN 403   403   403   403   OK    OK",
    "portal-goals":                    "LOGIN 403   403   403   403   OK    OK",
    "portal-tasks":                    "LOGIN 403   403   403   403   OK    OK",
    "portal-progress":                 "LOGIN 403   403   403   403   OK    OK",
    "portal-access-log":               "LOGIN 403   403   403   403   OK    OK",
}  # fmt: skip

#                                      anon  ther  oth-  admin oth-  pat   oth-
#                                                  ther        admin       pat
POST: dict[str, str] = {
    # Public, or any signed-in user: their own account.
    "login":                           "OK    OK    OK    OK    OK    OK    OK",
    "logout":                          "LOGIN LOGIN LOGIN LOGIN LOGIN LOGIN LOGIN",
    "password_change":                 "LOGIN OK    OK    OK    OK    OK    OK",
    "password_change_done":            "LOGIN 405   405   405   405   405   405",
    "healthz":                         "405   405   405   405   405   405   405",
    "home":                            "LOGIN 405   405   405   405   405   405",
    "account-activate":                "410   410   410   410   410   410   410",
    "account-activate-done":           "405   405   405   405   405   405   405",
    "two-factor-manage":               "LOGIN 405   405   405   405   405   405",
    "two-factor-setup":                "LOGIN OK    OK    OK    OK    OK    OK",
    "two-factor-verify":               "LOGIN OK    OK    OK    OK    OK    OK",
    "two-factor-backup-codes":         "LOGIN 405   405   405   405   405   405",
    "two-factor-new-codes":            "LOGIN OK    OK    OK    OK    OK    OK",
    "two-factor-remove":               "LOGIN 400   400   400   400   400   400",
    "session-ping":                    "LOGIN OK    OK    OK    OK    OK    OK",
    "session-timeout":                 "405   405   405   405   405   405   405",
    # Staff pages over the patient's record: therapist-only writes, reads for the clinic's admin too.
    "patient-detail":                  "LOGIN 405   405   405   405   403   403",
    "course-detail":                   "LOGIN 405   405   405   405   403   403",
    "course-history":                  "LOGIN 405   405   405   405   403   403",
    "session-detail":                  "LOGIN 405   405   405   405   403   403",
    "patient-portal-account":          "LOGIN OK    404   OK    404   403   403",
    "patient-portal-link":             "LOGIN OK    404   OK    404   403   403",
    "therapist-home":                  "LOGIN 405   405   403   403   403   403",
    "patient-create":                  "LOGIN OK    OK    403   403   403   403",
    "emergency-access":                "LOGIN OK    OK    403   403   403   403",
    "emergency-access-end":            "LOGIN OK    404   403   403   403   403",
    "course-start":                    "LOGIN OK    404   403   404   403   403",
    "course-complete":                 "LOGIN OK    404   403   404   403   403",
    "course-discontinue":              "LOGIN OK    404   403   404   403   403",
    "course-revise-contract":          "LOGIN OK    404   403   404   403   403",
    "course-middle-phase":             "LOGIN OK    404   403   404   403   403",
    "initial-start":                   "LOGIN 405   405   405   405   403   403",
    "initial-step":                    "LOGIN OK    404   403   404   403   403",
    "initial-person-edit":             "LOGIN OK    404   403   404   403   403",
    "initial-person-remove":           "LOGIN OK    404   403   404   403   403",
    "session-create":                  "LOGIN OK    404   403   404   403   403",
    "session-edit":                    "LOGIN OK    404   403   404   403   403",
    "session-addendum-create":         "LOGIN OK    404   403   404   403   403",
    "account-link-shown":              "LOGIN 405   405   405   405   403   403",
    # The clinic admin's pages: their own clinic only.
    "clinic-home":                     "LOGIN 403   403   405   405   403   403",
    "clinic-patients":                 "LOGIN 403   403   405   405   403   403",
    "clinic-export":                   "LOGIN 403   403   405   405   403   403",
    "clinic-staff":                    "LOGIN 403   403   405   405   403   403",
    "clinic-staff-new":                "LOGIN 403   403   OK    OK    403   403",
    "clinic-audit-log":                "LOGIN 403   403   405   405   403   403",
    "clinic-audit-export":             "LOGIN 403   403   405   405   403   403",
    "clinic-course-summary":           "LOGIN 403   403   405   405   403   403",
    "patient-reassign":                "LOGIN 403   403   OK    404   403   403",
    "clinic-staff-deactivate":         "LOGIN 403   403   OK    404   403   403",
    "clinic-staff-reactivate":         "LOGIN 403   403   OK    404   403   403",
    "clinic-staff-link":               "LOGIN 403   403   OK    404   403   403",
    "clinic-staff-two-factor-reset":   "LOGIN 403   403   OK    404   403   403",
    # The patient's portal: their own record only (there is no id in these URLs).
    "portal-home":                     "LOGIN 405   405   405   405   405   405",
    "portal-goals":                    "LOGIN 405   405   405   405   405   405",
    "portal-tasks":                    "LOGIN 405   405   405   405   405   405",
    "portal-progress":                 "LOGIN 405   405   405   405   405   405",
    "portal-access-log":               "LOGIN 405   405   405   405   405   405",
}  # fmt: skip
MATRIX: dict[str, tuple[str, str]] = {name: (GET[name], POST[name]) for name in GET}

# Django admin is one group: only superusers may use it; staff and patients are sent to its sign-in page.
# Anonymous visitors: the admin index is Django's own login-exempt view, so it sends them to the admin
# sign-in; every other admin page meets the app's LoginRequiredMiddleware first. Both are a sign-in page.
DJANGO_ADMIN_URLS = {"/django-admin/": "admin:login", "/django-admin/sessions_app/patient/": "login"}


def _urls(record, patient, therapist, emergency) -> dict[str, str]:
    """One URL per route, each naming a row of `patient`'s record (or the route's own object)."""
    course, person = record["course"], record["person"]
    by_kwarg = {
        "patient": {"public_id": patient.public_id},
        "course": {"public_id": course.public_id},
        "draft": {"public_id": record["draft"].public_id},
        "signed": {"public_id": record["signed"].public_id},
        "staff": {"public_id": therapist.public_id},
        "emergency": {"public_id": emergency.public_id},
    }
    kwargs = {
        "patient-detail": by_kwarg["patient"],
        "course-start": by_kwarg["patient"],
        "patient-portal-account": by_kwarg["patient"],
        "patient-portal-link": by_kwarg["patient"],
        "patient-reassign": by_kwarg["patient"],
        "course-detail": by_kwarg["course"],
        "course-complete": by_kwarg["course"],
        "course-discontinue": by_kwarg["course"],
        "course-revise-contract": by_kwarg["course"],
        "course-middle-phase": by_kwarg["course"],
        "course-history": by_kwarg["course"],
        "initial-start": by_kwarg["course"],
        "initial-step": {**by_kwarg["course"], "step": "inventory"},
        "initial-person-edit": {**by_kwarg["course"], "person_id": person.public_id},
        "initial-person-remove": {**by_kwarg["course"], "person_id": person.public_id},
        "session-create": by_kwarg["course"],
        "clinic-course-summary": by_kwarg["course"],
        "session-detail": by_kwarg["draft"],
        "session-edit": by_kwarg["draft"],
        "session-addendum-create": by_kwarg["signed"],
        "clinic-staff-deactivate": by_kwarg["staff"],
        "clinic-staff-reactivate": by_kwarg["staff"],
        "clinic-staff-link": by_kwarg["staff"],
        "clinic-staff-two-factor-reset": by_kwarg["staff"],
        "emergency-access-end": by_kwarg["emergency"],
        "account-activate": {"public_id": str(patient.portal_user.public_id), "token": "not-a-token"},
    }
    return {route.name: reverse(route.name, kwargs=kwargs.get(route.name, {})) for route in crawl.routes()}


@pytest.fixture
def dataset(request, therapist, other_therapist, clinic_admin, other_clinic_admin, patient, other_patient):
    record = crawl.full_record(therapist, patient)
    # The treating therapist's emergency access to a patient outside their caseload: theirs to end.
    now = timezone.now()
    emergency = factories.EmergencyAccessFactory(
        user=therapist, patient=other_patient, started_at=now, expires_at=now + dt.timedelta(hours=4)
    )
    users = {name: None if name == "anonymous" else request.getfixturevalue(name) for name in PERSONAS}
    return _urls(record, patient, therapist, emergency), users


def _status(response) -> str:
    if response.status_code == 302 and urlsplit(response["Location"]).path == reverse("login"):
        return LOGIN
    if response.status_code in (200, 302):
        return OK
    return str(response.status_code)


def _client(user, **kwargs) -> Client:
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


def _row(text: str) -> dict[str, str]:
    return dict(zip(PERSONAS, text.split(), strict=True))


def test_every_route_is_classified():
    """A route added to the URL configuration fails here until MATRIX says who may use it."""
    names = [route.name for route in crawl.routes()]
    assert sorted(set(names) - set(MATRIX)) == [], "routes missing from MATRIX"
    assert sorted(set(MATRIX) - set(names)) == [], "MATRIX rows for routes that no longer exist"


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_access_matrix(dataset, name):
    urls, users = dataset
    get_row, post_row = (_row(text) for text in MATRIX[name])
    clients = {persona: _client(user) for persona, user in users.items()}  # GETs first: a POST may sign out
    wrong = []
    for method, expected in (("GET", get_row), ("POST", post_row)):
        for persona, client in clients.items():
            response = client.get(urls[name]) if method == "GET" else client.post(urls[name], {})
            got = _status(response)
            if got != expected[persona]:
                wrong.append(
                    f"{method} {urls[name]} as {SHORT[persona]}: expected {expected[persona]}, got {got}"
                )
    assert wrong == []


@pytest.mark.parametrize("url", sorted(DJANGO_ADMIN_URLS))
def test_django_admin_is_for_superusers_only(dataset, url):
    _, users = dataset
    admin_login = reverse("admin:login")
    for persona, user in users.items():
        expected = reverse(DJANGO_ADMIN_URLS[url]) if user is None else admin_login
        for method in ("get", "post"):
            response = getattr(_client(user), method)(url, {})
            assert response.status_code == 302, (persona, method)
            assert urlsplit(response["Location"]).path == expected, (persona, method)
    superuser = factories.UserFactory(username="root", role="", clinic=None, is_superuser=True, is_staff=True)
    assert _client(superuser).get(url).status_code == 200


USES_POST = ("OK", "400", "410")  # the view itself answered the POST
# Signing out succeeds by sending everyone to the sign-in page, so its row reads LOGIN: name its user here.
CSRF_PERSONA = {"logout": "therapist"}
POST_ROUTES = sorted(
    {name for name, row in POST.items() if any(status in USES_POST for status in row.split())}
    | set(CSRF_PERSONA)
)


@pytest.mark.parametrize("name", POST_ROUTES)
def test_csrf_is_enforced_on_every_post_view(dataset, name):
    """A POST without a CSRF token is refused (403), even from a user the route lets in."""
    urls, users = dataset
    post_row = _row(MATRIX[name][1])
    persona = CSRF_PERSONA.get(name) or next(p for p in PERSONAS if post_row[p] in USES_POST)
    client = _client(users[persona], enforce_csrf_checks=True)
    response = client.post(urls[name], {})
    assert response.status_code == 403, f"{name} as {SHORT[persona]}: {response.status_code}"
    assert b"CSRF" in response.content
    if users[persona] is not None:  # nothing happened: e.g. a refused sign-out leaves the user signed in
        assert _status(client.get(reverse("home"))) == OK


def test_csrf_token_lets_the_same_post_through(dataset, therapist):
    """The check above fails for the missing token, not for anything else: with one, the POST works."""
    urls, users = dataset
    client = _client(users["anonymous"], enforce_csrf_checks=True)
    token = client.get(urls["login"]).cookies
    assert token, "the sign-in page sets the CSRF cookie"
    csrf = next(iter(token.values())).value
    response = client.post(urls["login"], {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 200  # the form again, with its errors
