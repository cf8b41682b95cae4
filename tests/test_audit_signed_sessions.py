"""Signed sessions are immutable on every write path.

The model layer (`TherapySession.save/delete`, the m2m signal, reviews and
scores) is covered in tests/test_session_sign.py; these are the paths that
skip model code: `QuerySet.update()`, `bulk_update()`, `QuerySet.delete()`,
and Django admin (change form, delete, bulk delete action, simple-history
revert), where a superuser gets a read-only page and a 403, not a 500.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import MeasureResponse, SignedSessionLocked, TherapySession
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(course, therapist):
    session = factories.TherapySessionFactory(course=course, number=1, task_text="Original task")
    factories.MeasureResponseFactory(course=course, session=session)
    session.signed_at, session.signed_by = timezone.now(), therapist
    session.save()
    return session


@pytest.fixture
def draft(course):
    return factories.TherapySessionFactory(course=course, number=2, task_text="Draft task")


def stored(session) -> TherapySession:
    return TherapySession.objects.get(pk=session.pk)


# --- QuerySet paths ----------------------------------------------------------------------------


def test_queryset_update_of_a_signed_session_is_refused(signed):
    with pytest.raises(SignedSessionLocked), transaction.atomic():
        TherapySession.objects.filter(pk=signed.pk).update(task_text="Changed")
    assert stored(signed).task_text == "Original task"


def test_queryset_update_cannot_unsign(signed):
    with pytest.raises(SignedSessionLocked), transaction.atomic():
        TherapySession.objects.filter(pk=signed.pk).update(signed_at=None, signed_by=None)
    assert stored(signed).is_signed


def test_an_update_touching_signed_and_draft_rows_changes_neither(signed, draft):
    with pytest.raises(SignedSessionLocked), transaction.atomic():
        TherapySession.objects.filter(course=signed.course).update(task_text="Everyone")
    assert (stored(signed).task_text, stored(draft).task_text) == ("Original task", "Draft task")


def test_drafts_can_still_be_updated_in_bulk(draft):
    assert TherapySession.objects.filter(pk=draft.pk).update(task_text="Fine") == 1
    assert stored(draft).task_text == "Fine"


def test_bulk_update_of_a_signed_session_is_refused(signed, draft):
    signed.task_text = draft.task_text = "Bulk"
    with pytest.raises(SignedSessionLocked), transaction.atomic():
        TherapySession.objects.bulk_update([draft, signed], ["task_text"])
    assert (stored(signed).task_text, stored(draft).task_text) == ("Original task", "Draft task")


def test_queryset_delete_of_a_signed_session_is_refused(course, therapist):
    lone = factories.TherapySessionFactory(course=course, number=3)  # nothing protects it but the lock
    lone.signed_at, lone.signed_by = timezone.now(), therapist
    lone.save()
    with pytest.raises(SignedSessionLocked), transaction.atomic():
        TherapySession.objects.filter(pk=lone.pk).delete()
    assert TherapySession.objects.filter(pk=lone.pk).exists()


def test_the_model_paths_still_refuse(signed):
    signed.task_text = "Changed"
    with pytest.raises(SignedSessionLocked):
        signed.save()
    with pytest.raises(SignedSessionLocked):
        stored(signed).delete()


# --- Django admin --------------------------------------------------------------------------------


@pytest.fixture
def superuser():
    return factories.UserFactory(
        username="root", role="", clinic=None, is_superuser=True, is_staff=True
    )


@pytest.fixture
def admin_client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def change_url(model: str, pk: int) -> str:
    return reverse(f"admin:sessions_app_{model}_change", args=[pk])


def test_the_admin_change_page_of_a_signed_session_is_read_only(admin_client, signed, draft):
    html = admin_client.get(change_url("therapysession", signed.pk)).content.decode()
    assert 'name="_save"' not in html and "View therapy session" in html
    editable = admin_client.get(change_url("therapysession", draft.pk)).content.decode()
    assert 'name="_save"' in editable  # drafts stay editable


def test_an_admin_post_to_a_signed_session_is_403_and_changes_nothing(admin_client, signed):
    response = admin_client.post(
        change_url("therapysession", signed.pk),
        {"task_text": "Changed", "date": signed.date.isoformat(), "_save": "Save"},
    )
    assert response.status_code == 403
    assert stored(signed).task_text == "Original task"


def test_the_admin_cannot_delete_a_signed_session(admin_client, course, therapist):
    lone = factories.TherapySessionFactory(course=course, number=3)
    lone.signed_at, lone.signed_by = timezone.now(), therapist
    lone.save()
    url = reverse("admin:sessions_app_therapysession_delete", args=[lone.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    response = admin_client.post(
        reverse("admin:sessions_app_therapysession_changelist"),
        {"action": "delete_selected", "_selected_action": [lone.pk], "post": "yes"},
    )
    assert response.status_code in (200, 403)  # "cannot delete" page or refusal, never a 500
    assert TherapySession.objects.filter(pk=lone.pk).exists()


def test_the_admin_cannot_revert_a_signed_session_to_an_earlier_version(admin_client, signed):
    before_signing = signed.history.order_by("history_date").first()
    url = reverse(
        "admin:sessions_app_therapysession_simple_history",
        args=[signed.pk, before_signing.history_id],
    )
    response = admin_client.post(url, {"task_text": "Reverted", "date": signed.date.isoformat()})
    assert response.status_code == 403
    assert stored(signed).is_signed and stored(signed).task_text == "Original task"


def test_scores_taken_in_a_signed_session_are_read_only_in_admin(admin_client, signed):
    measure = MeasureResponse.objects.get(session=signed)
    url = change_url("measureresponse", measure.pk)
    assert 'name="_save"' not in admin_client.get(url).content.decode()
    assert admin_client.post(url, {"items": "[0,0,0,0,0,0,0,0,0]"}).status_code == 403
    assert MeasureResponse.objects.get(pk=measure.pk).items == measure.items


def test_goal_reviews_of_a_signed_session_are_read_only_in_admin(admin_client, course, therapist):
    focus = factories.ProblemAreaFocusFactory(course=course)
    goal = factories.GoalFactory(focus=focus)
    session = factories.TherapySessionFactory(course=course, number=4)
    review = factories.GoalReviewFactory(goal=goal, session=session)
    session.signed_at, session.signed_by = timezone.now(), therapist
    session.save()
    url = change_url("goalreview", review.pk)
    assert admin_client.post(url, {"progress": "achieved"}).status_code == 403
    delete = reverse("admin:sessions_app_goalreview_delete", args=[review.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
