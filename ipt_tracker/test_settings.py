"""Settings for the test suite: the real settings with test-only values.

The environment is filled in before the real settings are read so that
`pytest` works without exporting anything; DATABASE_URL still chooses the
database, so the same suite runs on SQLite and on PostgreSQL.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use")
# The test client and live server speak plain http; tests/test_headers.py checks
# the HTTPS settings by loading the real settings with production values.
os.environ.setdefault("DJANGO_HTTPS", "false")
# Two-factor sign-in is optional in tests, so that force_login and the browser
# journeys work as they are; tests/test_auth_two_factor.py turns it on explicitly.
os.environ.setdefault("IPT_REQUIRE_2FA", "false")

from ipt_tracker.settings import *  # noqa: F403

# Argon2 is deliberately slow; tests create hundreds of users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
