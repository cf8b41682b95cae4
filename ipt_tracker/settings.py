"""Settings for IPT Tracker, read from the environment.

Every value that differs between a laptop, CI and production comes from an
environment variable (see README, "Configuration"). Defaults are the safe ones:
DEBUG is off, and without DEBUG a SECRET_KEY must be given.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"

env = environ.Env()

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"", "0", "false", "no", "off"}


def env_flag(name: str, *, default: bool) -> bool:
    """A boolean variable; a value that is neither true nor false is an error, not False."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false.")


DEBUG = env_flag("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random value "
            "(or set DJANGO_DEBUG=true for local development only)."
        )
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105 (DEBUG only)

# Old keys still accepted for signatures while a new key rolls out to every app server (docs/deploy.md).
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "csp",  # django-csp: its system checks flag settings from before 4.0
    "axes",  # sign-in lockout (see "Authentication and sessions" below)
    "django_otp",  # two-factor authentication: TOTP apps and one-time backup codes
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "sessions_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): second factor done
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "sessions_app.cache_middleware.NoStoreMiddleware",
    "sessions_app.audit_middleware.DeniedAccessAuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # After MessageMiddleware (they leave a message) and LoginRequiredMiddleware (process_view order).
    "sessions_app.auth_middleware.SessionLifetimeMiddleware",
    "sessions_app.auth_middleware.TwoFactorMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the locked-out page
]

ROOT_URLCONF = "ipt_tracker.urls"
WSGI_APPLICATION = "ipt_tracker.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sessions_app.context_processors.session_timeout",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL says otherwise.
SQLITE_PATH = BASE_DIR / "var" / "ipt.sqlite3"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if Path(DATABASES["default"]["NAME"]) == SQLITE_PATH:
        # The default file lives in var/, which a fresh clone does not have yet.
        SQLITE_PATH.parent.mkdir(exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets readers proceed during a write; IMMEDIATE plus a busy
            # timeout turns "database is locked" into a short wait.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # No JIT: compiling a plan costs far more than running this app's short queries. The
    # caseload dashboard's grouped count took 3.4 s with JIT and 0.3 s without it for a
    # 1,000-patient clinic (PostgreSQL 15; a variant with more aggregates took minutes).
    # PgBouncer refuses an unknown `options` startup parameter: behind it, set
    # DJANGO_PG_JIT_OFF=false and `ALTER DATABASE ... SET jit = off` instead.
    if env_flag("DJANGO_PG_JIT_OFF", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
    # Behind pgbouncer in transaction mode: .iterator() must not use server-side cursors,
    # which live in a session the pooler may hand to another client (docs/deploy.md).
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_flag(
        "DJANGO_DISABLE_SERVER_SIDE_CURSORS", default=False
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "sessions_app.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where collectstatic writes (and WhiteNoise serves from); tests and the benchmark use their own.
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="ipt-tracker@localhost")

SESSION_COOKIE_HTTPONLY = True

# Cache and sessions. With REDIS_URL every app server shares one cache, and
# sessions are read from it first and written through to the database
# (cached_db), so a user can land on any server. Without it: a per-process
# local-memory cache and database sessions, which is also correct with several
# servers. Nothing patient-specific is cached under a key another user could hit.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("DJANGO_CACHE_KEY_PREFIX", default="ipt"),
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Benchmark only: an X-Query-Count header on every response (bench/run.py reads it).
if env_flag("IPT_BENCH_QUERY_COUNT", default=False):
    MIDDLEWARE.insert(0, "sessions_app.query_count.QueryCountHeaderMiddleware")
X_FRAME_OPTIONS = "DENY"

# --- Authentication and sessions (issue 5) ---------------------------------------------------------
# Passwords: Argon2 and the validators are above (PASSWORD_HASHERS, AUTH_PASSWORD_VALIDATORS).
# axes' backend goes first: it refuses a locked-out sign-in before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lockout: 5 failures for a username (from anywhere) or for a username from one
# address lock it for 15 minutes; attempts during the lock do not extend it,
# and a successful sign-in clears the count. 429 Too Many Requests: it is a
# rate limit, not a permission question.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "sessions_app.views.account.locked_out"  # templates/registration/locked_out.html
AXES_HTTP_RESPONSE_CODE = 429
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are in our own audit trail
# Client address behind a reverse proxy: how many proxies of ours append to
# X-Forwarded-For (0 = the app faces clients directly). sessions_app/client_ip.py.
IPT_TRUSTED_PROXY_COUNT = env.int("IPT_TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "sessions_app.client_ip.client_ip"

# Two-factor authentication (django-otp): required for therapists, clinic
# admins and superusers unless turned off; off by default only with DEBUG
# (`make run`'s demo). Patients may always turn it on. sessions_app/two_factor.py.
IPT_REQUIRE_2FA = env_flag("IPT_REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = "IPT Tracker"

# Sessions: 15 minutes idle, sliding with activity, gone when the browser
# closes, and at most 12 hours after sign-in whatever the activity. The
# sliding is auth_middleware.SessionLifetimeMiddleware's: it saves the session
# once a minute at most (IPT_SESSION_TOUCH_SECONDS) instead of on every request
# (SESSION_SAVE_EVERY_REQUEST would be a database write per page view).
# Pages warn IPT_SESSION_WARNING_SECONDS before the idle limit (static/js/idle.js).
SESSION_COOKIE_AGE = 15 * 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
IPT_SESSION_TOUCH_SECONDS = 60
IPT_SESSION_MAX_AGE = 12 * 60 * 60
IPT_SESSION_WARNING_SECONDS = 2 * 60

# --- Transport and headers (issue 5) ---------------------------------------------------------------
# One switch for everything that assumes TLS terminated by a proxy in front of
# the app: on unless DEBUG, so production cannot forget it; tests and `make run`
# (plain http on 127.0.0.1) turn it off. `check --deploy` in CI proves the
# production values (README, "Configuration").
HTTPS = env_flag("DJANGO_HTTPS", default=not DEBUG)
if HTTPS:
    # The proxy must set (overwrite) X-Forwarded-Proto; the app then trusts it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Load-balancer health checks may come over plain http from inside.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31_536_000)  # one year
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_flag("DJANGO_HSTS_PRELOAD", default=True)
    # __Host- cookies: Secure, no Domain, Path=/ -- a sibling subdomain cannot set or shadow them.
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SESSION_COOKIE_PATH = CSRF_COOKIE_PATH = "/"
    SESSION_COOKIE_DOMAIN = CSRF_COOKIE_DOMAIN = None
# Django 5.2 defaults, spelled out because tests and reviewers rely on them.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy (django-csp 4), on everywhere, tests included: no inline
# script or style anywhere (tests/test_headers.py scans the templates), no third
# party. `data:` images only because Bootstrap's CSS draws its form icons with them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="WARNING")},
}
