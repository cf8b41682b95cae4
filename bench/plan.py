"""What the benchmark requests, and as whom: built with Django against the bench database.

Runs in the benchmark's own process (never inside the server), with the same
environment as the server so sessions and URLs match. Import after
`django.setup()`.

Users are signed in by creating their sessions directly: `django.contrib.auth.login`
on a synthetic request, so the same signals run as on a real sign-in (audit row,
lockout reset, session start time, two-factor state). Staff accounts must use two
factors in production settings, so each bench therapist and admin is enrolled
with an authenticator and the session is marked verified, as after a real code.
Seeded accounts have unusable passwords, so nobody can sign in as them by password.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from importlib import import_module

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from bench.load import Target
from sessions_app.models import Course, Goal, Patient, TherapySession, User
from sessions_app.services import patients as patient_services

BACKEND = "django.contrib.auth.backends.ModelBackend"
FRESH_PLANNED_SESSIONS = 16
# A fresh course takes at most this many benchmark sessions: past the planned
# number the app (rightly) asks for a contract revision first.
FRESH_CAPACITY = FRESH_PLANNED_SESSIONS - 1


@dataclass(frozen=True)
class PageSpec:
    """One benchmarked page: the URL name it needs, who requests it and its target (× healthz p50)."""

    name: str
    url_name: str | None  # None: a fixed path (healthz)
    role: str | None
    target_ratio: float | None
    paginated: bool = False
    method: str = "GET"


# The page list of the benchmark. A page whose URL name does not exist yet is skipped and
# reported as missing, so pages being built elsewhere join the run once they land.
PAGES: tuple[PageSpec, ...] = (
    PageSpec("healthz", None, None, None),
    PageSpec("therapist dashboard", "therapist-home", User.Role.THERAPIST, 10, paginated=True),
    PageSpec("course page", "course-detail", User.Role.THERAPIST, 10),
    PageSpec("session form", "session-create", User.Role.THERAPIST, 10),
    PageSpec("session POST", "session-create", User.Role.THERAPIST, None, method="POST"),
    PageSpec("caseload dashboard", "clinic-home", User.Role.CLINIC_ADMIN, 20, paginated=True),
    PageSpec("audit viewer", "clinic-audit-log", User.Role.CLINIC_ADMIN, 20, paginated=True),
    PageSpec("portal goals", "portal-goals", User.Role.PATIENT, 10),
)


@dataclass
class Plan:
    targets: dict[str, list[Target]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    post_capacity: int = 0
    users: dict[str, int] = field(default_factory=dict)


def url_exists(url_name: str | None) -> bool:
    if url_name is None:
        return True
    try:
        reverse(url_name)
    except NoReverseMatch as exc:
        # A route that needs arguments exists; only "not a valid view function" means missing.
        return "is not a valid view function or pattern name" not in str(exc)
    return True


def sign_in(user: User) -> str:
    """A Cookie header for a freshly signed-in session of `user` (second factor done for staff)."""
    request = RequestFactory().post("/login/", REMOTE_ADDR="127.0.0.1")
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    request.user = AnonymousUser()  # login() replaces it; otp_login() checks the device against it
    device = None
    if user.role in (User.Role.THERAPIST, User.Role.CLINIC_ADMIN):
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="Bench authenticator", defaults={"confirmed": True}
        )
    login(request, user, backend=BACKEND)
    if device is not None:
        otp_login(request, device)
    request.session.save()
    # The CSRF cookie may hold the plain 32-character secret; forms then post the same value.
    return f"{settings.SESSION_COOKIE_NAME}={request.session.session_key}"


def csrf_pair() -> tuple[str, str]:
    secret = secrets.token_hex(16)  # 32 characters from the CSRF alphabet
    return f"{settings.CSRF_COOKIE_NAME}={secret}", secret


def fresh_courses(therapist: User, count: int) -> list[Course]:
    """Start new courses for patients whose last course ended (returning patients): empty courses."""
    active = Course.objects.filter(patient=OuterRef("pk"), status=Course.Status.ACTIVE)
    returning = (
        Patient.objects.filter(therapist=therapist, archived_at__isnull=True, courses__isnull=False)
        .exclude(Exists(active))
        .distinct()
        .order_by("pk")[:count]
    )
    return [
        patient_services.course_start(
            patient=patient,
            format=Course.Format.INDIVIDUAL,
            planned_sessions=FRESH_PLANNED_SESSIONS,
            frequency=Course.Frequency.WEEKLY,
            start_date=timezone.localdate(),
        )
        for patient in returning
    ]


def build(
    *, therapists: int = 10, admins: int = 5, patients: int = 20, fresh_per_therapist: int = 10
) -> Plan:
    """Sign the bench users in and list every page's requests."""
    plan = Plan()
    specs = [spec for spec in PAGES if url_exists(spec.url_name)]
    plan.missing = [spec.name for spec in PAGES if spec not in specs]
    names = {spec.name for spec in specs}

    staff = list(User.objects.filter(role=User.Role.THERAPIST, username__startswith="bench-t").order_by("pk"))
    staff = staff[:therapists]
    admin_users = list(User.objects.filter(role=User.Role.CLINIC_ADMIN).order_by("pk")[:admins])
    visible = Goal.objects.filter(focus__course__patient__portal_user=OuterRef("pk"), visible_to_patient=True)
    portal_users = list(
        User.objects.filter(role=User.Role.PATIENT).filter(Exists(visible)).order_by("pk")[:patients]
    )
    plan.users = {"therapists": len(staff), "clinic admins": len(admin_users), "patients": len(portal_users)}

    def add(page: str, target: Target) -> None:
        if page in names:
            plan.targets.setdefault(page, []).append(target)

    add("healthz", Target("healthz", "/healthz"))
    for therapist in staff:
        cookie = sign_in(therapist)
        csrf_cookie, csrf_token = csrf_pair()
        add("therapist dashboard", Target("therapist dashboard", reverse("therapist-home"), cookie))
        attended = TherapySession.objects.filter(course=OuterRef("pk"), attendance="attended")
        courses = list(
            Course.objects.filter(therapist=therapist, status=Course.Status.ACTIVE)
            .filter(Exists(attended))
            .order_by("pk")[:3]
        )
        for course in courses:
            add(
                "course page",
                Target("course page", reverse("course-detail", args=[course.public_id]), cookie),
            )
            add(
                "session form",
                Target("session form", reverse("session-create", args=[course.public_id]), cookie),
            )
        if "session POST" in names:
            for course in fresh_courses(therapist, fresh_per_therapist):
                plan.post_capacity += FRESH_CAPACITY
                add(
                    "session POST",
                    Target(
                        "session POST",
                        reverse("session-create", args=[course.public_id]),
                        f"{cookie}; {csrf_cookie}",
                        method="POST",
                        form=session_form(csrf_token),
                        expect=302,
                        expect_location="/sessions/",
                    ),
                )
    for admin in admin_users:
        cookie = sign_in(admin)
        add("caseload dashboard", Target("caseload dashboard", reverse("clinic-home"), cookie))
        if "audit viewer" in names:
            add("audit viewer", Target("audit viewer", reverse("clinic-audit-log"), cookie))
    for patient in portal_users:
        cookie = sign_in(patient)
        if "portal goals" in names:
            add("portal goals", Target("portal goals", reverse("portal-goals"), cookie))
    return plan


def session_form(csrf_token: str) -> dict[str, str]:
    """A new attended session as the form posts it; `{uuid}`/`{today}` are filled in per request."""
    return {
        "csrfmiddlewaretoken": csrf_token,
        "submission_key": "{uuid}",
        "date": "{today}",
        "duration_minutes": "50",
        "modality": TherapySession.Modality.IN_PERSON,
        "attendance": TherapySession.Attendance.ATTENDED,
        # The phase's default depends on how many sessions the course has by then; a stated
        # reason makes any phase valid, so concurrent posts need not agree on the count.
        "phase": "initial",
        "phase_override_reason": "Benchmark session.",
        "events_since_last": "A calmer week; one argument resolved by talking it through.",
        "action": "save",
    }
