"""Signing a session, the item-9 gate, the lock after signing, addenda and the session page.

Rules under test (issue 3; DESIGN.md §4): PHQ-9 item 9 above 0 needs a risk
check before the session can be signed; a signed session is locked on every
write path (form, service, model save and delete, its reviews, scores and
links); corrections are addenda by the treating therapist, shown under the
note; risk checks and private notes reach the treating therapist only.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from sessions_app import ipt, measures
from sessions_app.models import (
    AuditEvent,
    GoalReview,
    MeasureResponse,
    SessionAddendum,
    SignedSessionLocked,
    TherapySession,
)
from sessions_app.services import sessions as services
from tests import factories
from tests.test_session_form import TODAY, edit_data, edit_url, message_texts, new_url, post_data

pytestmark = pytest.mark.django_db

ITEM9_POSITIVE = [2, 2, 1, 2, 1, 1, 1, 1, 1]


@pytest.fixture
def course(patient):
    return factories.CourseFactory(patient=patient, start_date=TODAY - dt.timedelta(weeks=10))


@pytest.fixture
def signed_in(client, therapist):
    client.force_login(therapist)
    return client


@pytest.fixture
def signed(course):
    """A signed session with a PHQ-9, a goal review and a linked person."""
    session = factories.TherapySessionFactory(course=course, number=1, date=TODAY - dt.timedelta(days=7))
    factories.MeasureResponseFactory(course=course, session=session, taken_on=session.date)
    goal = factories.GoalFactory(focus=factories.ProblemAreaFocusFactory(course=course))
    factories.GoalReviewFactory(goal=goal, session=session)
    session.people_discussed.add(factories.RelationshipEntryFactory(course=course))
    session.signed_at, session.signed_by = dt.datetime(2026, 11, 15, 17, tzinfo=dt.UTC), course.therapist
    session.save(update_fields=["signed_at", "signed_by"])
    return session


def addendum_url(session: TherapySession) -> str:
    return reverse("session-addendum-create", kwargs={"public_id": session.public_id})


# --- sign_blockers: the item-9 rule as a pure function ---------------------------------------------------


def _phq9(items: list[int]) -> MeasureResponse:
    response = MeasureResponse(instrument=measures.Instrument.PHQ9, items=items)
    response._derive_scores()  # what save() does, without a database
    return response


@pytest.mark.parametrize(
    ("items", "ideation", "blocked"),
    [
        ([0] * 9, "", False),
        ([3] * 8 + [0], "", False),  # severe, but item 9 is 0
        ([0] * 8 + [1], "", True),
        ([0] * 8 + [3], "", True),
        ([0] * 8 + [1], "none", False),  # a recorded check, even "none", clears the gate
        ([0] * 8 + [2], "active", False),
    ],
)
def test_sign_blockers_require_a_risk_check_when_item9_is_positive(items, ideation, blocked):
    session = TherapySession(risk_ideation=ideation)

    blockers = services.sign_blockers(session, phq9=_phq9(items))

    assert bool(blockers) is blocked
    if blocked:
        assert [b.field for b in blockers] == ["risk_ideation"]
        assert "item 9" in blockers[0].message


def test_sign_blockers_without_a_phq9_are_empty():
    assert services.sign_blockers(TherapySession(), phq9=None) == []


# --- Signing through the form ---------------------------------------------------------------------------


def test_sign_button_saves_and_signs(signed_in, course, therapist):
    response = signed_in.post(new_url(course), post_data(action="sign"))

    session = TherapySession.objects.get(course=course)
    assert response.status_code == 302
    assert session.signed_by == therapist
    assert session.signed_at is not None
    assert "signed" in message_texts(response)[0]
    actions = set(AuditEvent.objects.filter(object_id=session.public_id).values_list("action", flat=True))
    assert actions == {AuditEvent.Action.CREATE, AuditEvent.Action.SIGN}


def test_signing_with_item9_positive_and_no_risk_check_is_refused(signed_in, course):
    data = post_data(phq9=ITEM9_POSITIVE, action="sign", private_note="Kept when refused")

    response = signed_in.post(new_url(course), data)

    assert response.status_code == 200
    errors = response.context["form"].main.errors["risk_ideation"]
    assert "record a risk check before signing" in errors[0]
    assert any("Not signed" in m for m in message_texts(response))
    assert "Kept when refused" in response.content.decode()
    assert response.context["risk_open"]
    # Nothing saved: the refusal rolls back the whole save.
    assert not TherapySession.objects.exists()
    assert not MeasureResponse.objects.exists()


def test_signing_with_item9_positive_and_a_risk_check_signs(signed_in, course):
    data = post_data(
        phq9=ITEM9_POSITIVE,
        action="sign",
        risk_ideation="passive",
        risk_plan="false",
        risk_intent="false",
        safety_plan="Call the crisis line; sister stays over.",
        risk_action_taken="Safety plan agreed; GP informed.",
    )

    assert signed_in.post(new_url(course), data).status_code == 302

    session = TherapySession.objects.get(course=course)
    assert session.is_signed
    assert (session.risk_ideation, session.risk_plan, session.risk_intent) == ("passive", False, False)


def test_a_draft_with_item9_positive_can_be_saved_without_the_risk_check(signed_in, course):
    assert signed_in.post(new_url(course), post_data(phq9=ITEM9_POSITIVE)).status_code == 302

    session = TherapySession.objects.get(course=course)
    assert not session.is_signed
    assert MeasureResponse.objects.get(session=session).item9_positive


def test_signing_a_draft_from_the_edit_form(signed_in, course):
    draft = factories.TherapySessionFactory(course=course, number=1, date=TODAY)

    response = signed_in.post(edit_url(draft), edit_data(draft, action="sign"))

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.is_signed
    assert draft.version == 2


def test_a_cancelled_record_can_be_signed(signed_in, course):
    response = signed_in.post(new_url(course), post_data(attendance="cancelled", action="sign"))

    assert response.status_code == 302
    assert TherapySession.objects.get().is_signed


def test_the_service_refuses_to_sign_past_the_gate(course, therapist):
    data = services.SessionInput(
        date=TODAY,
        duration_minutes=50,
        modality="in_person",
        attendance="attended",
        phase=ipt.Phase.INITIAL,
        phq9=services.MeasureAnswers(items=ITEM9_POSITIVE),
    )

    with pytest.raises(services.SignBlocked) as refused:
        services.session_create(course=course, data=data, by_user=therapist, sign=True)

    assert refused.value.message_dict.keys() == {"risk_ideation"}
    assert not TherapySession.objects.exists()


# --- The lock: every write path refuses a signed session ---------------------------------------------------


def test_edit_page_of_a_signed_session_sends_to_the_read_only_page(signed_in, signed):
    response = signed_in.get(edit_url(signed))

    assert response.status_code == 302
    assert response.url == signed.get_absolute_url()
    assert "signed and locked" in message_texts(response)[0]


def test_posting_the_edit_form_of_a_signed_session_changes_nothing(signed_in, signed):
    before = TherapySession.objects.filter(pk=signed.pk).values().get()

    response = signed_in.post(edit_url(signed), edit_data(signed, private_note="Rewritten", phq9=[0] * 9))

    assert response.status_code == 302
    assert "signed and locked" in message_texts(response)[0]
    assert TherapySession.objects.filter(pk=signed.pk).values().get() == before
    assert MeasureResponse.objects.get(session=signed).total == 10
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).exists()


def test_the_service_refuses_to_update_a_signed_session(signed, therapist):
    data = services.SessionInput(
        date=signed.date, duration_minutes=50, modality="in_person", attendance="attended", phase=signed.phase
    )

    with pytest.raises(SignedSessionLocked):
        services.session_update(session=signed, data=data, by_user=therapist, expected_version=signed.version)


def test_a_session_signed_after_the_form_was_opened_is_not_overwritten(signed_in, course, therapist):
    draft = factories.TherapySessionFactory(course=course, number=1, date=TODAY)
    data = edit_data(draft, private_note="Typed in another tab")
    TherapySession.objects.filter(pk=draft.pk).update(signed_at=dt.datetime.now(dt.UTC), signed_by=therapist)

    response = signed_in.post(edit_url(draft), data)

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.private_note == ""


def test_direct_model_save_and_delete_are_refused(signed):
    signed.private_note = "Changed behind the form's back"
    with pytest.raises(SignedSessionLocked):
        signed.save()
    with pytest.raises(SignedSessionLocked):
        signed.delete()
    assert TherapySession.objects.get(pk=signed.pk).private_note == ""


def test_new_reviews_and_scores_for_a_signed_session_are_refused(signed):
    focus = factories.ProblemAreaFocusFactory(course=signed.course, area="grief", is_primary=False)
    goal = factories.GoalFactory(focus=focus)
    with pytest.raises(SignedSessionLocked):
        GoalReview.objects.create(goal=goal, session=signed, progress="some")
    with pytest.raises(SignedSessionLocked):
        MeasureResponse.objects.create(
            patient=signed.course.patient,
            course=signed.course,
            session=signed,
            instrument=measures.Instrument.GAD7,
            items=[0] * 7,
            taken_on=signed.date,
        )
    existing = MeasureResponse.objects.get(session=signed)
    existing.items = [0] * 9
    with pytest.raises(SignedSessionLocked):
        existing.save()


def test_links_of_a_signed_session_are_refused(signed):
    person = factories.RelationshipEntryFactory(course=signed.course)
    # Each attempt in its own savepoint, as a request's transaction would be.
    with pytest.raises(SignedSessionLocked), transaction.atomic():
        signed.joint_attendees.add(person)
    with pytest.raises(SignedSessionLocked), transaction.atomic():
        signed.people_discussed.clear()
    with pytest.raises(SignedSessionLocked), transaction.atomic():
        signed.foci.set(
            [factories.ProblemAreaFocusFactory(course=signed.course, area="grief", is_primary=False)]
        )
    assert signed.people_discussed.count() == 1


def test_signed_session_lock_is_a_validation_error():
    # Forms and services can report it like any other validation failure.
    assert issubclass(SignedSessionLocked, ValidationError)


# --- Addenda ---------------------------------------------------------------------------------------------


def test_addendum_is_added_under_a_signed_note(signed_in, signed, therapist):
    response = signed_in.post(
        addendum_url(signed), {"text": "  Correction: the task was a letter, not a call.  "}
    )

    assert response.status_code == 302
    assert response.url == signed.get_absolute_url()
    addendum = SessionAddendum.objects.get(session=signed)
    assert (addendum.author, addendum.text) == (therapist, "Correction: the task was a letter, not a call.")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CREATE, object_id=addendum.public_id).exists()
    page = signed_in.get(signed.get_absolute_url()).content.decode()
    assert "Correction: the task was a letter, not a call." in page
    assert page.index("Correction: the task") > page.index("Signed and locked")


@pytest.mark.parametrize("text", ["", "   "])
def test_addendum_text_is_required(signed_in, signed, text):
    response = signed_in.post(addendum_url(signed), {"text": text})

    assert response.status_code == 200
    assert response.context["addendum_form"].errors["text"]
    assert not SessionAddendum.objects.exists()


def test_addendum_on_a_draft_is_refused(signed_in, course):
    draft = factories.TherapySessionFactory(course=course, number=1)

    response = signed_in.post(addendum_url(draft), {"text": "Should be an edit"})

    assert response.status_code == 302
    assert "edit it directly" in message_texts(response)[0]
    assert not SessionAddendum.objects.exists()


def test_the_service_refuses_an_addendum_on_a_draft(course, therapist):
    draft = factories.TherapySessionFactory(course=course, number=1)

    with pytest.raises(ValidationError):
        services.addendum_create(session=draft, author=therapist, text="No")


@pytest.mark.parametrize(
    ("persona", "status"), [("other_therapist", 404), ("clinic_admin", 403), ("patient_user", 403)]
)
def test_only_the_treating_therapist_adds_addenda(client, request, signed, persona, status):
    client.force_login(request.getfixturevalue(persona))

    assert client.post(addendum_url(signed), {"text": "Not mine to add"}).status_code == status
    assert not SessionAddendum.objects.exists()


def test_addenda_answer_only_post(signed_in, signed):
    assert signed_in.get(addendum_url(signed)).status_code == 405


def test_anonymous_addendum_goes_to_login(client, signed):
    response = client.post(addendum_url(signed), {"text": "x"})

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_addendum_to_an_unknown_session_is_404(signed_in):
    url = reverse("session-addendum-create", kwargs={"public_id": uuid.uuid4()})
    assert signed_in.post(url, {"text": "x"}).status_code == 404


# --- The session page -------------------------------------------------------------------------------------


def test_session_page_offers_edit_for_a_draft_and_addendum_for_a_signed_session(signed_in, course, signed):
    draft = factories.TherapySessionFactory(course=course, number=2, date=TODAY)

    draft_page = signed_in.get(draft.get_absolute_url()).content.decode()
    signed_page = signed_in.get(signed.get_absolute_url()).content.decode()

    assert edit_url(draft) in draft_page and addendum_url(draft) not in draft_page
    assert addendum_url(signed) in signed_page and edit_url(signed) not in signed_page


def test_clinic_admin_sees_no_edit_or_addendum_controls(client, clinic_admin, course, signed):
    draft = factories.TherapySessionFactory(course=course, number=2, date=TODAY)
    client.force_login(clinic_admin)

    for session in (draft, signed):
        page = client.get(session.get_absolute_url()).content.decode()
        assert edit_url(session) not in page
        assert addendum_url(session) not in page


def test_risk_check_is_shown_to_the_treating_therapist_only(client, therapist, clinic_admin, course):
    session = factories.TherapySessionFactory(
        course=course, number=1, risk_ideation="passive", safety_plan="SAFETY-PLAN-MARKER-2b9c"
    )

    client.force_login(therapist)
    assert "SAFETY-PLAN-MARKER-2b9c" in client.get(session.get_absolute_url()).content.decode()
    client.force_login(clinic_admin)
    page = client.get(session.get_absolute_url()).content.decode()
    assert "SAFETY-PLAN-MARKER-2b9c" not in page
    assert "Risk check" not in page


def test_session_page_shows_scores_with_band_and_reviews_with_notes(signed_in, signed):
    GoalReview.objects.filter(session=signed).update(note="Asked for help twice")

    page = signed_in.get(signed.get_absolute_url()).content.decode()

    assert "PHQ-9: 10" in page and "Moderate" in page
    assert "Asked for help twice" in page


# The session page:
#   1 session, 2 user
#   3 session (scoped, with course, patient, therapist, signer)
#   4–6 its foci, people discussed, joint attendees (prefetched)
#   7 its questionnaires, 8 its goal reviews (with goals), 9 addenda (with authors)
#   10 VIEW audit row, 11 the user's clinic (base.html)
DETAIL_QUERIES = 11


@pytest.mark.parametrize("addenda", [1, 8])
def test_session_page_runs_a_fixed_number_of_queries(signed_in, signed, addenda, django_assert_num_queries):
    factories.SessionAddendumFactory.create_batch(addenda, session=signed)

    with django_assert_num_queries(DETAIL_QUERIES):
        response = signed_in.get(signed.get_absolute_url())

    assert response.status_code == 200
