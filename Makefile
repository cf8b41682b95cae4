# IPT Tracker: `make run` serves the demo clinic, `make test` runs every check.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# Development values for `make run` only; production sets its own environment.
DEV_ENV := DJANGO_DEBUG=true

.PHONY: run test lint migrate seed venv clean serve bench loadtest

$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required (set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

migrate: $(VENV)/.installed
	$(DEV_ENV) $(PY) manage.py migrate --noinput

seed: migrate
	$(DEV_ENV) $(PY) manage.py seed_demo

run: seed
	$(DEV_ENV) $(PY) manage.py runserver 127.0.0.1:8000

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache test-artifacts

# --- Production serving and the benchmark (docs/deploy.md, README "Performance") ---------------------
# `make serve`: DEBUG off, gunicorn on 127.0.0.1:$(PORT) with $(WEB_CONCURRENCY) sync workers, static
# files collected for WhiteNoise, PostgreSQL when DATABASE_URL is set. Without DJANGO_SECRET_KEY a random
# key is generated once into var/secret_key (mode 600) so a local production run needs no setup.
# DJANGO_HTTPS=false because this serves plain http on 127.0.0.1: with the production default (true) every
# request would be redirected to https and cookies would be Secure-only. Behind a TLS-terminating proxy run
# `make serve DJANGO_HTTPS=true` (docs/deploy.md). Everything else stays as in production.
PORT ?= 8000
WEB_CONCURRENCY ?= 2
DJANGO_HTTPS ?= false
SECRET_KEY_FILE := var/secret_key

$(SECRET_KEY_FILE):
	mkdir -p var
	umask 077 && $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > $@
	@echo "Generated $@ (DJANGO_SECRET_KEY was not set)."

serve: $(VENV)/.installed
	@if [ -z "$$DJANGO_SECRET_KEY" ]; then $(MAKE) --no-print-directory $(SECRET_KEY_FILE); fi
	export DJANGO_DEBUG=false DJANGO_HTTPS=$(DJANGO_HTTPS) PORT=$(PORT) WEB_CONCURRENCY=$(WEB_CONCURRENCY); \
	export DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat $(SECRET_KEY_FILE))}"; \
	$(PY) manage.py migrate --noinput && \
	$(PY) manage.py collectstatic --noinput --verbosity 0 && \
	exec $(VENV)/bin/gunicorn --config ipt_tracker/gunicorn_conf.py ipt_tracker.wsgi

# `make bench`: seeds (once) and clones PostgreSQL databases on 127.0.0.1:5432 (BENCH_PG), runs production
# gunicorn and a separate load client; prints a table and writes bench/results.json. Not part of `make test`.
# BENCH_ARGS="--with-10" adds scale 10 (a long one-off seed); see `python bench/run.py --help`.
bench: $(VENV)/.installed-dev
	$(PY) bench/run.py $(BENCH_ARGS)

# `make loadtest`: 20 therapists post sessions with goal reviews for 60 s; checks nothing accepted is lost.
loadtest: $(VENV)/.installed-dev
	$(PY) bench/loadtest.py $(LOADTEST_ARGS)
