"""Row scope of every function in `sessions_app/access.py`, for every persona.

One object graph holds, for each of three patients, one row of every type:

* "patient"        — treated by `therapist`, portal account `patient_user`;
* "other_patient"  — treated by `other_therapist` in the same clinic,
                     portal account `other_patient_user`;
* "foreign"        — a patient of `other_clinic`, so that `other_clinic_admin`
                     is shown to see *their* clinic and not simply nothing.

Each patient's goal (and its review) exists twice: visible to the patient and
hidden ("…/hidden"). The expectations are an explicit table: every returned
row is mapped back to its label and the *whole* result is compared, so a
widened scope (a therapist seeing the clinic, an admin seeing another clinic,
a patient seeing a hidden goal) fails, and so does a narrowed one.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from sessions_app import access
from sessions_app.models import AuditEvent, EmergencyAccess, User
from tests import factories

pytestmark = pytest.mark.django_db

PAT, OTH, FGN = "patient", "other_patient", "foreign"
PAT_HIDDEN, OTH_HIDDEN, FGN_HIDDEN = f"{PAT}/hidden", f"{OTH}/hidden", f"{FGN}/hidden"

SCOPING_FUNCTIONS = (
    "patients_for",
    "courses_for",
    "foci_for",
    "sessions_for",
    "addenda_for",
    "goals_for",
    "goal_reviews_for",
    "relationships_for",
    "measures_for",
    "therapists_for",
    "audit_events_for",
    "caseload_for",
    "contract_revisions_for",
    "reassignments_for",
    "staff_for",
    "emergency_accesses_for",
)

PERSONAS = (
    "therapist",
    "other_therapist",
    "clinic_admin",
    "other_clinic_admin",
    "patient_user",
    "other_patient_user",
    "inactive_therapist",  # the `therapist` persona, deactivated
    "superuser",  # no role, no clinic: Django admin only
    "anonymous",
)


def _rows(*labels: str) -> frozenset[str]:
    return frozenset(labels)


NONE = _rows()
# Clinical rows: one per patient.
MINE, THEIRS, CLINIC, FOREIGN = _rows(PAT), _rows(OTH), _rows(PAT, OTH), _rows(FGN)
# Goals and goal reviews: staff see hidden ones too, patients only the visible one.
MINE_ALL = _rows(PAT, PAT_HIDDEN)
THEIRS_ALL = _rows(OTH, OTH_HIDDEN)
CLINIC_ALL = MINE_ALL | THEIRS_ALL
FOREIGN_ALL = _rows(FGN, FGN_HIDDEN)
# Staff accounts: each clinic's admin.
ADMIN, FOREIGN_ADMIN = "clinic_admin", "other_clinic_admin"

# fmt: off
# Columns follow PERSONAS:
#   therapist, other_therapist, clinic_admin, other_clinic_admin,
#   patient_user, other_patient_user, inactive_therapist, superuser, anonymous
EXPECTED: dict[str, tuple[frozenset[str], ...]] = {
    "patients_for":      (MINE,     THEIRS,     CLINIC,     FOREIGN,     MINE, THEIRS, NONE, NONE, NONE),
    "courses_for":       (MINE,     THEIRS,     CLINIC,     FOREIGN,     MINE, THEIRS, NONE, NONE, NONE),
    "foci_for":          (MINE,     THEIRS,     CLINIC,     FOREIGN,     MINE, THEIRS, NONE, NONE, NONE),
    "sessions_for":      (MINE,     THEIRS,     CLINIC,     FOREIGN,     MINE, THEIRS, NONE, NONE, NONE),
    # Addenda never reach the portal.
    "addenda_for":       (MINE,     THEIRS,     CLINIC,     FOREIGN,     NONE, NONE,   NONE, NONE, NONE),
    # Patients see only goals (and reviews of goals) made visible to them.
    "goals_for":         (MINE_ALL, THEIRS_ALL, CLINIC_ALL, FOREIGN_ALL, MINE, THEIRS, NONE, NONE, NONE),
    "goal_reviews_for":  (MINE_ALL, THEIRS_ALL, CLINIC_ALL, FOREIGN_ALL, MINE, THEIRS, NONE, NONE, NONE),
    "relationships_for": (MINE,     THEIRS,     CLINIC,     FOREIGN,     MINE, THEIRS, NONE, NONE, NONE),
    # Both courses share scores here; test_unshared_scores_stay_off_the_portal covers the opposite.
    "measures_for":      (MINE,     THEIRS,     CLINIC,     FOREIGN,     MINE, THEIRS, NONE, NONE, NONE),
    # Rows are the patients' therapists. Staff see their own clinic's therapists
    # (access.py: "Therapists a user may see (and assign patients to)"); patients none.
    "therapists_for":    (CLINIC,   CLINIC,     CLINIC,     FOREIGN,     NONE, NONE,   NONE, NONE, NONE),
    # Rows are audit events about each patient. The audit log is the clinic admin's alone.
    "audit_events_for":  (NONE,     NONE,       CLINIC,     FOREIGN,     NONE, NONE,   NONE, NONE, NONE),
    # A therapist's caseload is their own patients (emergency access opens a record, not the caseload).
    "caseload_for":      (MINE,     THEIRS,     CLINIC,     FOREIGN,     MINE, THEIRS, NONE, NONE, NONE),
    # Revision reasons and reassignments are staff business, never portal content.
    "contract_revisions_for": (MINE, THEIRS,    CLINIC,     FOREIGN,     NONE, NONE,   NONE, NONE, NONE),
    "reassignments_for": (MINE,     THEIRS,     CLINIC,     FOREIGN,     NONE, NONE,   NONE, NONE, NONE),
    # Rows are the patients' therapists plus each clinic's admin: a clinic admin manages their clinic's staff.
    "staff_for":         (NONE,     NONE,       CLINIC | {ADMIN}, FOREIGN | {FOREIGN_ADMIN},
                          NONE, NONE, NONE, NONE, NONE),
    # Rows are expired grants *to* each patient, by a colleague of its therapist:
    # a therapist sees the grants they hold, a clinic admin all of their clinic's.
    "emergency_accesses_for": (THEIRS, MINE,    CLINIC,     FOREIGN,     NONE, NONE,   NONE, NONE, NONE),
}
# fmt: on


def test_table_covers_every_scoping_function_and_persona():
    public = {name for name in dir(access) if name.endswith("_for") and callable(getattr(access, name))}
    assert public == set(SCOPING_FUNCTIONS) == set(EXPECTED)
    assert all(len(row) == len(PERSONAS) for row in EXPECTED.values())


def _graph_for(patient, label: str, colleague) -> dict[str, dict[str, object]]:
    """One row of every scoped type for `patient`, keyed by scoping function, then label."""
    course = factories.CourseFactory(patient=patient, share_scores_with_patient=True)
    person = factories.RelationshipEntryFactory(course=course, name=f"{label} friend")
    focus = factories.ProblemAreaFocusFactory(course=course, person=person)
    session = factories.TherapySessionFactory(course=course, number=1)
    addendum = factories.SessionAddendumFactory(session=session)
    goal = factories.GoalFactory(focus=focus, text=f"{label} shared goal")
    hidden_goal = factories.GoalFactory(focus=focus, text=f"{label} hidden goal", visible_to_patient=False)
    review = factories.GoalReviewFactory(goal=goal, session=session)
    hidden_review = factories.GoalReviewFactory(goal=hidden_goal, session=session)
    measure = factories.MeasureResponseFactory(course=course, session=session)
    event = factories.AuditEventFactory(
        user=patient.therapist,
        action=AuditEvent.Action.VIEW,
        object_type="Patient",
        object_id=str(patient.public_id),
        patient_public_id=patient.public_id,
    )
    # From a colleague already in the table, so that no unlisted staff account appears.
    reassigned = factories.ReassignmentFactory(
        patient=patient,
        course=course,
        from_therapist=colleague,
        to_therapist=patient.therapist,
        reassigned_by=colleague,
    )
    return {
        "caseload_for": {label: patient},
        "contract_revisions_for": {label: factories.ContractRevisionFactory(course=course)},
        "reassignments_for": {label: reassigned},
        "staff_for": {label: patient.therapist},
        "patients_for": {label: patient},
        "courses_for": {label: course},
        "foci_for": {label: focus},
        "sessions_for": {label: session},
        "addenda_for": {label: addendum},
        "goals_for": {label: goal, f"{label}/hidden": hidden_goal},
        "goal_reviews_for": {label: review, f"{label}/hidden": hidden_review},
        "relationships_for": {label: person},
        "measures_for": {label: measure},
        "therapists_for": {label: patient.therapist},
        "audit_events_for": {label: event},
    }


@pytest.fixture
def graph(patient, other_patient, other_clinic, therapist, other_therapist, clinic_admin, other_clinic_admin):
    foreign_patient = factories.PatientFactory(
        clinic=other_clinic, given_name="Foreign", family_name="Person"
    )
    merged: dict[str, dict[str, object]] = {name: {} for name in SCOPING_FUNCTIONS}
    for p, label, colleague in (
        (patient, PAT, other_therapist),
        (other_patient, OTH, therapist),
        (foreign_patient, FGN, other_clinic_admin),
    ):
        for name, rows in _graph_for(p, label, colleague).items():
            merged[name].update(rows)
    merged["staff_for"] |= {ADMIN: clinic_admin, FOREIGN_ADMIN: other_clinic_admin}
    # Expired, so that they widen nobody's scope in the other rows of the table.
    expired = timezone.now() - dt.timedelta(hours=1)
    for grantee, p, label in (
        (other_therapist, patient, PAT),
        (therapist, other_patient, OTH),
        # One therapist is enough in the foreign clinic: it only has to stay out of view.
        (foreign_patient.therapist, foreign_patient, FGN),
    ):
        merged["emergency_accesses_for"][label] = EmergencyAccess.objects.create(
            user=grantee,
            patient=p,
            reason="Covering an urgent call while the treating therapist is away.",
            started_at=expired - dt.timedelta(hours=4),
            expires_at=expired,
        )
    return merged


@pytest.fixture
def superuser():
    return factories.UserFactory(
        username="root", role="", clinic=None, is_superuser=True, is_staff=True, first_name="", last_name=""
    )


def _persona(name: str, request: pytest.FixtureRequest):
    if name == "anonymous":
        return AnonymousUser()
    if name == "superuser":
        return request.getfixturevalue("superuser")
    if name == "inactive_therapist":
        # The treating therapist of `patient`, deactivated: loses everything.
        user = request.getfixturevalue("therapist")
        user.is_active = False
        user.save(update_fields=["is_active"])
        return user
    return request.getfixturevalue(name)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("function_name", SCOPING_FUNCTIONS)
def test_scope(function_name, persona, graph, request):
    user = _persona(persona, request)
    expected = EXPECTED[function_name][PERSONAS.index(persona)]
    label_of = {obj.pk: label for label, obj in graph[function_name].items()}

    returned = list(getattr(access, function_name)(user))

    labels = [label_of.get(obj.pk, f"unexpected {type(obj).__name__} {obj}") for obj in returned]
    assert len(labels) == len(set(labels)), f"duplicate rows: {labels}"
    assert set(labels) == expected


def test_unshared_scores_stay_off_the_portal(patient_user, therapist, clinic_admin, course):
    assert course.share_scores_with_patient is False  # the default
    measure = factories.MeasureResponseFactory(course=course)

    assert list(access.measures_for(patient_user)) == []
    assert list(access.measures_for(therapist)) == [measure]
    assert list(access.measures_for(clinic_admin)) == [measure]

    course.share_scores_with_patient = True
    course.save()
    assert list(access.measures_for(patient_user)) == [measure]


def test_superuser_fixture_has_no_role_or_clinic(superuser):
    # Guards the persona itself: a superuser with a clinic would test something else.
    assert superuser.role == "" and superuser.clinic_id is None and superuser.is_superuser
    assert User.objects.filter(pk=superuser.pk, is_superuser=True).exists()


# get_or_404 -----------------------------------------------------------------------------------------


def test_get_or_404_returns_a_row_in_scope(therapist, patient):
    assert access.get_or_404(access.patients_for(therapist), patient.public_id) == patient
    assert access.get_or_404(access.patients_for(therapist), str(patient.public_id)) == patient


def test_get_or_404_missing_uuid(therapist, patient):
    with pytest.raises(Http404):
        access.get_or_404(access.patients_for(therapist), uuid.uuid4())


def test_get_or_404_out_of_scope_row(therapist, patient, other_patient):
    with pytest.raises(Http404):
        access.get_or_404(access.patients_for(therapist), other_patient.public_id)


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "", "1", "../", "00000000-0000-0000-0000-00000000000Z"])
def test_get_or_404_malformed_id(therapist, patient, bad_id):
    with pytest.raises(Http404):
        access.get_or_404(access.patients_for(therapist), bad_id)


# require_treating_therapist ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["clinic_admin", "other_therapist", "patient_user"])
def test_require_treating_therapist_refuses_others(persona, patient, request):
    user = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        access.require_treating_therapist(user, patient)


def test_require_treating_therapist_passes_the_treating_therapist(therapist, patient):
    assert access.require_treating_therapist(therapist, patient) is None
