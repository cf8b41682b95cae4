"""Stateless app servers: two production gunicorn instances share one PostgreSQL (and Redis).

A person signs in through one server (a real login form POST with its CSRF
token) and carries on through the other, as behind a load balancer that
does not pin users to a server. Then they sign out through the second and
the first no longer knows them. Run with and without Redis (cached_db sessions).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils.html import escape

from bench import loadtest
from bench.servers import database_url, free_port, manage, production_env, start_server
from sessions_app.models import TherapySession
from tests import factories

pytestmark = [pytest.mark.postgres_only, pytest.mark.serving]

PASSWORD = "a-long-serving-test-passphrase"
SECRET_KEY = "serving-test-secret-key-" + "x" * 40
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def skip_unless_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("app servers share a PostgreSQL database (SQLite is one file on one host)")


@pytest.fixture(scope="session")
def static_root(tmp_path_factory) -> Path:
    """Static files collected once, with the production (compressed manifest) storage."""
    skip_unless_postgresql()  # before the slow collectstatic
    root = tmp_path_factory.mktemp("static")
    env = production_env(database_url="sqlite:///:memory:", secret_key=SECRET_KEY, static_root=root)
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    return root


@pytest.fixture
def redis_url(tmp_path) -> Iterator[str]:
    """A private redis-server on a free port, stopped after the test."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is missing: .ci/run installs it (apt-get install redis-server)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def portal_user():
    """A patient with a portal account whose password the production hasher can check."""
    user = factories.PortalUserFactory(username="serving-patient")
    hasher = Argon2PasswordHasher()
    user.password = hasher.encode(PASSWORD, hasher.salt())
    user.save(update_fields=["password"])
    factories.PatientFactory(clinic=user.clinic, portal_user=user)
    return user


def sign_in(client: httpx.Client, username: str) -> None:
    page = client.get("/login/")
    assert page.status_code == 200
    token = CSRF_INPUT.search(page.text).group(1)
    response = client.post(
        "/login/", data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302, response.text[:500]


def run_two_servers(static_root: Path, tmp_path: Path, redis_url: str = "") -> None:
    user = portal_user()
    env = production_env(
        database_url=database_url(connection.settings_dict),
        secret_key=SECRET_KEY,
        static_root=static_root,
        redis_url=redis_url,
    )
    first = start_server(env, port=free_port(), log_path=tmp_path / "first.log")
    try:
        second = start_server(env, port=free_port(), log_path=tmp_path / "second.log")
        try:
            with httpx.Client(base_url=first.url) as one:
                sign_in(one, user.username)
                cookies = dict(one.cookies)
                assert "sessionid" in cookies
                assert one.get("/portal/").status_code == 200
            if redis_url:
                # cached_db: the session is in Redis and written through to the database,
                # so a Redis restart signs nobody out.
                assert redis.Redis.from_url(redis_url).keys("ipt:*session*")
                assert Session.objects.filter(session_key=cookies["sessionid"]).exists()

            # The other server knows the session it never saw being created.
            with httpx.Client(base_url=second.url, cookies=cookies) as two:
                page = two.get("/portal/")
                assert page.status_code == 200, page.text[:500]
                assert escape(user.display_name) in page.text
                # A POST with the CSRF token issued by the first server works here too.
                token = CSRF_INPUT.search(page.text)
                csrf = token.group(1) if token else cookies["csrftoken"]
                assert two.post("/logout/", data={"csrfmiddlewaretoken": csrf}).status_code == 302

            # Signed out on the second server means signed out everywhere.
            with httpx.Client(base_url=first.url, cookies=cookies) as again:
                response = again.get("/portal/")
                assert response.status_code == 302
                assert response.headers["location"].startswith("/login/")
        finally:
            second.stop()
    finally:
        first.stop()


@pytest.mark.django_db(transaction=True)
def test_a_session_started_on_one_server_continues_on_another(static_root, tmp_path):
    skip_unless_postgresql()
    run_two_servers(static_root, tmp_path)


@pytest.mark.django_db(transaction=True)
def test_with_redis_sessions_are_shared_through_the_cache_and_database(static_root, tmp_path, redis_url):
    skip_unless_postgresql()
    run_two_servers(static_root, tmp_path, redis_url)


# --- Load and durability (a short `make loadtest`) -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_therapists_lose_no_accepted_write(static_root, tmp_path, settings):
    """Four therapists post sessions with goal reviews at once; the database matches what they were told."""
    skip_unless_postgresql()
    for index in range(4):
        therapist = factories.TherapistFactory(username=f"load-therapist-{index}")
        for _ in range(2):
            # Returning patients: their last course ended, so a fresh course can start.
            factories.CourseFactory(
                patient=factories.PatientFactory(clinic=therapist.clinic, therapist=therapist),
                status="completed",
            )
    writers = loadtest.prepare(4, courses_each=2)
    env = production_env(
        database_url=database_url(connection.settings_dict),
        secret_key=settings.SECRET_KEY,  # the sessions were signed in by this process
        static_root=static_root,
    )
    server = start_server(env, port=free_port(), workers=2, log_path=tmp_path / "load.log")
    try:
        # Its own thread: the browser tests' Playwright (sync API) keeps an event
        # loop running on this one for the rest of the run.
        with ThreadPoolExecutor(max_workers=1) as pool:
            outcome = pool.submit(asyncio.run, loadtest.drive(server.url, writers, seconds=6)).result()
    finally:
        server.stop()

    assert outcome.errors == []
    assert len(outcome.accepted) >= 8
    assert loadtest.verify(writers, outcome) == []
    # verify() compares against the database; check one accepted write by hand as well.
    course, key, reviews = outcome.accepted[0]
    session = TherapySession.objects.get(submission_key=key)
    assert str(session.course.public_id) == course
    assert session.goal_reviews.count() == reviews == 2
