"""Transport and headers: CSP everywhere, no inline code, no-store, and production HTTPS settings.

Production values are not guessed here: a subprocess loads the real
`ipt_tracker.settings` with a production environment (no DEBUG, no HTTPS
override) and reports what it set; requests then run under those values.
`check --deploy --fail-level WARNING` runs on the same environment.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from tests import crawl
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "ipt.example.org,testserver",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://ipt.example.org",
}
# The settings a production request depends on, read from the real settings module.
SECURITY_SETTINGS = [
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_NAME",
    "CSRF_COOKIE_NAME",
    "SESSION_COOKIE_PATH",
    "CSRF_COOKIE_PATH",
    "SESSION_COOKIE_DOMAIN",
    "CSRF_COOKIE_DOMAIN",
    "SESSION_COOKIE_HTTPONLY",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "X_FRAME_OPTIONS",
    "CONTENT_SECURITY_POLICY",
    "MIDDLEWARE",
]
CSP_MUSTS = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
]


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(PRODUCTION_ENV, DJANGO_SETTINGS_MODULE="ipt_tracker.settings", **extra)
    return env


@pytest.fixture(scope="module")
def production_settings() -> dict:
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {SECURITY_SETTINGS!r}}}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=production_env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    values = json.loads(out.stdout.strip().splitlines()[-1])
    values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"] or ()) or None
    return values


def csp_of(response) -> str:
    return response.get("Content-Security-Policy", "")


# --- Content-Security-Policy (on in tests too) --------------------------------------------------


def test_every_response_carries_the_strict_csp(client, therapist, patient):
    responses = [client.get(reverse("login"))]
    client.force_login(therapist)
    responses.append(client.get(reverse("patient-detail", kwargs={"public_id": patient.public_id})))
    for response in responses:
        policy = csp_of(response)
        for directive in CSP_MUSTS:
            assert directive in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


TEMPLATE_DIRS = [ROOT / "templates", *sorted((ROOT / "sessions_app").glob("**/templates"))]


def template_files() -> list[Path]:
    return [p for d in TEMPLATE_DIRS for p in sorted(d.rglob("*.html"))]


def test_no_template_has_inline_script_style_or_handlers():
    assert len(template_files()) > 10
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in template_files()
        if (found := crawl.inline_code(path.read_text()))
    }
    assert offenders == {}


@pytest.mark.parametrize(
    "snippet",
    [
        "<script>alert(1)</script>",
        '<div style="color: red">',
        "<style>p { color: red }</style>",
        '<button onclick="go()">',
        '<svg><circle r="4" style="fill: red"/></svg>',
        '<a href="#" onMouseOver = "x()">',
    ],
)
def test_the_scanner_finds_inline_code(snippet):
    assert crawl.inline_code(snippet)


def test_the_scanner_allows_external_scripts_and_classes():
    html = '<script src="/static/js/x.js"></script><svg><line class="grid" stroke-width="1"/></svg>'
    assert crawl.inline_code(html) == []


def test_charts_use_classes_and_presentation_attributes():
    for path in sorted((ROOT / "templates" / "charts").glob("*.html")):
        text = path.read_text()
        assert "<svg" in text and "class=" in text
        assert crawl.inline_code(text) == [], path.name


@pytest.mark.parametrize("persona", ["therapist", "clinic_admin", "patient_user"])
def test_rendered_pages_have_no_inline_code_and_are_not_stored(request, persona, therapist, patient):
    """Every page each persona can reach: no inline code in the HTML sent, and no-store."""
    crawl.full_record(therapist, patient)
    client = Client()
    client.force_login(request.getfixturevalue(persona))
    visits = [v for v in crawl.walk(client).visits if v.status == 200]
    assert len(visits) >= 2
    inline = {v.url: found for v in visits if (found := crawl.inline_code(v.html))}
    assert inline == {}
    cached = [v.url for v in visits if "no-store" not in v.cache_control]
    assert cached == []


def test_signed_in_redirects_and_errors_are_not_stored_either(client, therapist, other_patient):
    client.force_login(therapist)
    for response in (
        client.get(reverse("home")),
        client.get(reverse("patient-detail", kwargs={"public_id": other_patient.public_id})),
    ):
        assert "no-store" in response["Cache-Control"]


# --- Production settings ---------------------------------------------------------------------


def test_production_turns_https_on_by_default(production_settings):
    p = production_settings
    assert p["SECURE_SSL_REDIRECT"] is True
    assert p["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert p["SECURE_HSTS_SECONDS"] >= 31_536_000 and p["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert (p["SESSION_COOKIE_NAME"], p["CSRF_COOKIE_NAME"]) == ("__Host-sessionid", "__Host-csrftoken")
    assert p["SESSION_COOKIE_SECURE"] and p["CSRF_COOKIE_SECURE"]
    assert "sessions_app.cache_middleware.NoStoreMiddleware" in p["MIDDLEWARE"]
    assert "csp.middleware.CSPMiddleware" in p["MIDDLEWARE"]


@pytest.fixture
def production(production_settings):
    with override_settings(**production_settings):
        yield Client()  # a new client builds its middleware chain under these settings


def test_plain_http_is_redirected_to_https(production):
    response = production.get(reverse("login"))
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/login/"


def test_the_proxy_header_marks_a_request_secure(production):
    response = production.get(reverse("login"), HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200


def test_health_checks_over_plain_http_are_not_redirected(production):
    assert production.get(reverse("healthz")).status_code == 200


def test_production_headers(production):
    response = production.get(reverse("login"), secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    for directive in CSP_MUSTS:
        assert directive in csp_of(response)


def test_production_cookies_are_host_prefixed_and_secure(production, therapist):
    page = production.get(reverse("login"), secure=True)
    csrf = page.cookies["__Host-csrftoken"]
    assert csrf["secure"] and csrf["path"] == "/" and not csrf["domain"]
    production.post(
        reverse("login"), {"username": therapist.username, "password": PASSWORD}, secure=True
    )
    session = production.cookies["__Host-sessionid"]
    assert session["secure"] and session["httponly"] and session["path"] == "/" and not session["domain"]
    assert session["samesite"] == "Lax"
    assert "sessionid" not in production.cookies and "csrftoken" not in production.cookies


# --- check --deploy ----------------------------------------------------------------------------


def check_deploy(**extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(**extra),
        capture_output=True,
        text=True,
    )


def test_check_deploy_passes_with_production_values():
    result = check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_without_https():
    """The gate is real: turning HTTPS off in production is caught."""
    result = check_deploy(DJANGO_HTTPS="false")
    assert result.returncode != 0
    assert "security.W008" in result.stdout + result.stderr
