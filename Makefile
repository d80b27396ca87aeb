# Tally's everyday commands. `make run` sets up and serves the site with demo polls;
# `make test` sets up and runs the whole suite (embedded default, then PostgreSQL + Redis).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON311 ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
PYTEST := $(VENV)/bin/pytest
RUFF := $(VENV)/bin/ruff
# Written once the venv holds torch and the project; pyproject.toml changes redo the install.
INSTALLED := $(VENV)/.tally-installed

HOST ?= 127.0.0.1
PORT ?= 8000

# The PostgreSQL + Redis test run. REDIS_DB and TEST_DATABASE_NAME (read by the test
# settings) let two runs share one machine, e.g. `make test REDIS_DB=5 TEST_DATABASE_NAME=x`.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS_DB ?= 1
TEST_REDIS_URL ?= redis://127.0.0.1:6379/$(REDIS_DB)
PYTEST_ARGS ?=

# `check --deploy` runs with production settings and these values; nothing is connected to.
# The TLS-only switches are unset so that their production defaults are what is checked.
DEPLOY_CHECK_ENV := env -u DEBUG -u DJANGO_ALLOW_ASYNC_UNSAFE -u SECURE_SSL_REDIRECT -u SESSION_COOKIE_SECURE \
	-u CSRF_COOKIE_SECURE -u SECURE_HSTS_SECONDS -u SENTRY_DSN \
	DJANGO_SETTINGS_MODULE=config.settings.production \
	SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))')" \
	ALLOWED_HOSTS=example.com \
	DATABASE_URL=postgres://tally@db.example.com:5432/tally \
	REDIS_URL=redis://redis.example.com:6379/0

.PHONY: help setup axe run test lint css bench compose-check

help:
	@echo "make run            set up, migrate, seed demo polls, serve http://$(HOST):$(PORT)"
	@echo "make test           set up, run the suite on SQLite, then on PostgreSQL + Redis"
	@echo "make setup          create $(VENV) (Python 3.11) and install torch and the project"
	@echo "make lint           ruff, import layers, missing migrations, check --deploy, pip-audit"
	@echo "make css            rebuild the Tailwind CSS (needs Node)"
	@echo "make axe            install axe-core for the accessibility tests (needs Node)"
	@echo "make bench          run the vote benchmark"
	@echo "make compose-check  validate docker-compose.yml offline"

setup: $(INSTALLED)

$(PY):
	$(PYTHON311) -m venv $(VENV)

# torch first: the pinned release is the CPU build on this machine's disk; asked for
# through the project's dependencies pip could pick a multi-GB CUDA build instead.
$(INSTALLED): pyproject.toml | $(PY)
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[dev]'
	@touch $@

# axe-core for the accessibility browser tests, pinned by its lock file; node_modules is
# not committed. Without npm this fails, and so does `make test`.
AXE_DIR := tests/browser/axe
AXE_JS := $(AXE_DIR)/node_modules/axe-core/axe.min.js
axe: $(AXE_JS)

$(AXE_JS): $(AXE_DIR)/package.json $(AXE_DIR)/package-lock.json
	npm ci --prefix $(AXE_DIR) --no-audit --no-fund
	@touch $@

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	SITE_URL="$${SITE_URL:-http://$(HOST):$(PORT)}" $(PY) manage.py runserver $(HOST):$(PORT)

# Both stacks always run, each in two pytest invocations: browser tests apart, because
# Playwright's event loop would break async tests that run after it in the same process.
# Any run failing (pytest exit code 5, "no tests collected", included) fails the target.
EMBEDDED := env -u DATABASE_URL -u REDIS_URL
SERVICES := env DATABASE_URL=$(TEST_POSTGRES_URL) REDIS_URL=$(TEST_REDIS_URL)
test: setup axe
	@codes=""; \
	echo "== Embedded default: SQLite, in-memory channel layer, in-process tasks =="; \
	$(EMBEDDED) $(PYTEST) -m "not postgres and not browser" $(PYTEST_ARGS); codes="$$codes $$?"; \
	$(EMBEDDED) $(PYTEST) -m "browser" $(PYTEST_ARGS); codes="$$codes $$?"; \
	echo "== PostgreSQL + Redis: $(TEST_POSTGRES_URL), $(TEST_REDIS_URL) =="; \
	$(SERVICES) $(PYTEST) -m "not browser" $(PYTEST_ARGS); codes="$$codes $$?"; \
	$(SERVICES) $(PYTEST) -m "browser" $(PYTEST_ARGS); codes="$$codes $$?"; \
	echo "== pytest exit codes (embedded, embedded browser, services, services browser):$$codes =="; \
	[ "$$codes" = " 0 0 0 0" ]

lint: setup
	$(RUFF) format --check .
	$(RUFF) check .
	$(VENV)/bin/lint-imports
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py makemigrations --check --dry-run --noinput
	$(DEPLOY_CHECK_ENV) $(PY) manage.py check --deploy --fail-level WARNING
	# Known-vulnerable pins fail; an audit that cannot reach a vulnerability database says
	# it was skipped (offline) and passes (.ci/pip_audit.py).
	$(PY) .ci/pip_audit.py

css:
	npm --prefix theme/static_src ci
	npm --prefix theme/static_src run build

# e.g. make bench BENCH_ARGS="--processes 2 --duration 20"
BENCH_ARGS ?=
bench: setup
	$(PY) bench/votes.py $(BENCH_ARGS)

# docker-compose.yml requires SECRET_KEY; a placeholder is enough to validate the file.
compose-check:
	@if command -v docker-compose >/dev/null 2>&1; then \
		SECRET_KEY=compose-check docker-compose -f docker-compose.yml config -q; \
	elif docker compose version >/dev/null 2>&1; then \
		SECRET_KEY=compose-check docker compose -f docker-compose.yml config -q; \
	else \
		echo "compose-check needs docker-compose (apt-get install --no-install-recommends docker-compose)" >&2; \
		exit 1; \
	fi
	@echo "docker-compose.yml is valid"
