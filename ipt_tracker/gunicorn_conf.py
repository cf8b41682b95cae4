"""gunicorn settings for `make serve` and the benchmark; every value can come from the environment.

Sync workers: the app is CPU-bound Python with short database round trips, and a
sync worker holds exactly one persistent database connection (CONN_MAX_AGE).
Put a buffering proxy or load balancer in front in production (docs/deploy.md).
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# gunicorn also reads WEB_CONCURRENCY itself; stated here so the default is visible.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
# X-Forwarded-Proto is trusted from these addresses only (the TLS-terminating proxy).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = os.environ.get("GUNICORN_PROC_NAME", "ipt-tracker")
# gunicorn 27's runtime control socket defaults to one path per user: several instances on one
# host (the serving tests, the benchmark) would take it from each other, and nothing here uses it.
control_socket_disable = True
