"""`make loadtest`: 20 therapists log sessions with goal reviews at once for 60 s; nothing is lost.

Against the production server (gunicorn, PostgreSQL) over a copy of the
benchmark data, each simulated therapist posts the real session form, with a
review of every goal of the course, back to back on their own fresh courses.
Afterwards the database is checked against what the clients were told:

* every request answered with the redirect to the new session (the app's
  success) is in the database, with all of its goal reviews;
* no session exists that no client was told about;
* session numbers are unique and gap-free (1..n) in every course;
* no request failed.

`tests/test_serving.py` runs a short version of the same code on every CI run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PER_COURSE = 15  # sessions a fresh 16-session course takes before a contract revision is due


@dataclass
class Writer:
    """One simulated therapist: their signed-in cookies and their courses (with goal ids)."""

    username: str
    cookies: str
    csrf: str
    courses: list[tuple[str, list[str]]]  # (course public id, goal public ids)


@dataclass
class Outcome:
    accepted: list[tuple[str, str, int]] = field(default_factory=list)  # (course, submission key, reviews)
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0


# --- Django side: prepare and verify (call after django.setup()) -------------------------------------


def prepare(count: int, courses_each: int) -> list[Writer]:
    """Sign `count` therapists in and give each `courses_each` fresh courses with two goals."""
    from bench import plan
    from sessions_app import ipt
    from sessions_app.models import Goal, ProblemAreaFocus, User

    therapists = list(User.objects.filter(role=User.Role.THERAPIST, is_active=True).order_by("pk")[:count])
    if len(therapists) < count:
        raise SystemExit(f"Only {len(therapists)} therapists in the database; {count} are needed.")
    writers = []
    for therapist in therapists:
        csrf_cookie, csrf = plan.csrf_pair()
        courses = []
        for course in plan.fresh_courses(therapist, courses_each):
            focus = ProblemAreaFocus.objects.create(
                course=course, area=ipt.ProblemArea.ROLE_TRANSITION, is_primary=True
            )
            goals = [
                Goal.objects.create(focus=focus, text="Find two people to talk to in my new role"),
                Goal.objects.create(focus=focus, text="Name what I miss and what I gain"),
            ]
            courses.append((str(course.public_id), [str(goal.public_id) for goal in goals]))
        if not courses:
            raise SystemExit(f"{therapist.username} has no patient free for a new course.")
        writers.append(Writer(therapist.username, f"{plan.sign_in(therapist)}; {csrf_cookie}", csrf, courses))
    return writers


def verify(writers: list[Writer], outcome: Outcome) -> list[str]:
    """What is wrong in the database compared with what the clients were told (empty: all good)."""
    from sessions_app.models import GoalReview, TherapySession

    problems: list[str] = []
    course_ids = [course for writer in writers for course, _ in writer.courses]
    stored = {
        str(key): (str(course), number, pk)
        for key, course, number, pk in TherapySession.objects.filter(
            course__public_id__in=course_ids
        ).values_list("submission_key", "course__public_id", "number", "pk")
    }
    reviews = defaultdict(int)
    for session_id in GoalReview.objects.filter(session__course__public_id__in=course_ids).values_list(
        "session_id", flat=True
    ):
        reviews[session_id] += 1
    told = {key for _, key, _ in outcome.accepted}
    for course, key, expected_reviews in outcome.accepted:
        row = stored.get(key)
        if row is None:
            problems.append(f"accepted session {key} of course {course} is not in the database")
        elif row[0] != course:
            problems.append(f"session {key} is stored under another course")
        elif reviews[row[2]] != expected_reviews:
            problems.append(f"session {key} has {reviews[row[2]]} goal reviews, {expected_reviews} were sent")
    for key in set(stored) - told:
        problems.append(f"session {key} is in the database but no client was told it was saved")
    numbers = defaultdict(list)
    for course, number, _ in stored.values():
        numbers[course].append(number)
    for course, values in numbers.items():
        if sorted(values) != list(range(1, len(values) + 1)):
            problems.append(f"course {course} has session numbers {sorted(values)}: not 1..n")
    return problems


# --- Client side: the load ----------------------------------------------------------------------------


def session_form(writer: Writer, goals: list[str]) -> dict[str, str]:
    data = {
        "csrfmiddlewaretoken": writer.csrf,
        "submission_key": str(uuid.uuid4()),
        "date": date.today().isoformat(),
        "duration_minutes": "50",
        "modality": "in_person",
        "attendance": "attended",
        "phase": "initial",
        "phase_override_reason": "Load test session.",
        "events_since_last": "Talked it through with my sister; calmer week.",
        "action": "save",
    }
    for goal in goals:
        data[f"goal-{goal}-progress"] = "some"
        data[f"goal-{goal}-note"] = "Asked once, felt heard."
    return data


async def _therapist(client: httpx.AsyncClient, writer: Writer, stop: float, outcome: Outcome) -> None:
    left = {course: PER_COURSE for course, _ in writer.courses}
    turn = 0
    while time.monotonic() < stop:
        open_courses = [(c, g) for c, g in writer.courses if left[c] > 0]
        if not open_courses:
            return
        course, goals = open_courses[turn % len(open_courses)]
        turn += 1
        data = session_form(writer, goals)
        outcome.requests += 1
        try:
            response = await client.post(
                f"/courses/{course}/sessions/new/", data=data, headers={"Cookie": writer.cookies}
            )
        except httpx.HTTPError as exc:
            outcome.errors.append(f"{writer.username}: {type(exc).__name__}")
            continue
        finally:
            client.cookies.clear()
        location = response.headers.get("location", "")
        if response.status_code == 302 and location.startswith("/sessions/"):
            left[course] -= 1
            outcome.accepted.append((course, data["submission_key"], len(goals)))
        else:
            outcome.errors.append(f"{writer.username}: HTTP {response.status_code} {location}".strip())


async def drive(base_url: str, writers: list[Writer], seconds: float) -> Outcome:
    """Every writer posts sessions back to back, all at once, for `seconds`."""
    outcome = Outcome()
    limits = httpx.Limits(max_connections=len(writers), max_keepalive_connections=len(writers))
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60.0) as client:
        started = time.monotonic()
        stop = started + seconds
        await asyncio.gather(*(_therapist(client, writer, stop, outcome) for writer in writers))
        outcome.seconds = time.monotonic() - started
    return outcome


# --- make loadtest ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    from bench import run as bench_run
    from bench.servers import free_port, manage, production_env, start_server

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--therapists", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scale", type=float, default=1.0, help="seed_bench scale of the data (default 1)")
    args = parser.parse_args(argv)
    if args.therapists < 1 or args.seconds <= 0 or args.workers < 1:
        parser.error("--therapists, --seconds and --workers must be positive")

    database = "ipt_bench_load"
    bench_run.WORK.mkdir(parents=True, exist_ok=True)
    env = production_env(
        database_url=f"{bench_run.PG}/{database}",
        secret_key=secrets.token_urlsafe(50),
        static_root=bench_run.WORK / "static",
        DJANGO_LOG_LEVEL="ERROR",
    )
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    template = bench_run.ensure_template(args.scale, {**env, "DATABASE_URL": f"{bench_run.PG}/ipt_bench"})
    bench_run.psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    bench_run.psql(f'CREATE DATABASE "{database}" TEMPLATE "{template["template"]}"')
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connections

    # Enough fresh courses that nobody runs out within the time.
    writers = prepare(args.therapists, courses_each=12)
    connections.close_all()
    server = start_server(
        env, port=free_port(), workers=args.workers, log_path=bench_run.WORK / "loadtest.log"
    )
    try:
        print(f"{args.therapists} therapists posting sessions with goal reviews for {args.seconds:g} s ...")
        outcome = asyncio.run(drive(server.url, writers, args.seconds))
    finally:
        server.stop()
    problems = verify(writers, outcome)
    report: dict[str, Any] = {
        "therapists": args.therapists,
        "workers": args.workers,
        "seconds": round(outcome.seconds, 1),
        "requests": outcome.requests,
        "accepted": len(outcome.accepted),
        "goal_reviews": sum(r for _, _, r in outcome.accepted),
        "writes_per_second": round(len(outcome.accepted) / outcome.seconds, 1),
        "errors": len(outcome.errors),
        "error_examples": sorted(set(outcome.errors))[:5],
        "database_problems": problems[:10],
    }
    for key, value in report.items():
        print(f"  {key}: {value}")
    ok = not outcome.errors and not problems
    print("PASS: every accepted write is in the database; numbers unique and gap-free." if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
