"""Production settings pass Django's deployment checks and refuse to start without a secret."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Variables that would loosen production settings if the caller's environment held them
# (a test run may set DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy rightly refuses).
LOOSENING = (
    "DEBUG",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SENTRY_DSN",
)


def production_env(**overrides):
    env = {name: value for name, value in os.environ.items() if name not in LOOSENING}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="example.com",
        DATABASE_URL="postgres://tally@db.example.com:5432/tally",
        REDIS_URL="redis://redis.example.com:6379/0",
    )
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}


def run_python(*args, env):
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_reports_no_issues():
    result = run_python(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=production_env()
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_tls_switches_are_on_unless_turned_off():
    """Each TLS-only switch is on by default; turned off, check --deploy names it."""
    env = production_env(
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        SECURE_HSTS_SECONDS="0",
    )
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr, warning


@pytest.mark.parametrize(
    "command",
    [["manage.py", "check"], ["-c", "import config.asgi"]],
    ids=["manage.py", "asgi"],
)
def test_production_refuses_to_start_without_secret_key(command):
    result = run_python(*command, env=production_env(SECRET_KEY=None))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (
            {"SECRET_KEY": "insecure-local-only-key-change-me-in-production-0123456789"},
            "SECRET_KEY",
        ),
        ({"SECRET_KEY": "short-key"}, "SECRET_KEY"),
        ({"SECRET_KEY": "a" * 64}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ({"HASH_KEY": "too-short"}, "HASH_KEY"),
    ],
    ids=["development key", "short key", "one-letter key", "no hosts", "empty hosts", "hash key"],
)
def test_production_fails_closed_on_unsafe_settings(overrides, named):
    """Production refuses to start with the published key, a short key, or no host names."""
    result = run_python("-c", "import config.asgi", env=production_env(**overrides))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["manage.py", "diffsettings", "--all"],
        ["-c", "import config.asgi; from django.conf import settings; print(settings.DEBUG)"],
        ["-c", "import config.celery; from django.conf import settings; print(settings.DEBUG)"],
    ],
    ids=["manage.py", "asgi", "celery"],
)
def test_entry_points_fall_back_to_local_settings(command):
    """Without DJANGO_SETTINGS_MODULE every entry point starts on the laptop-safe settings:
    loopback host names only, the embedded database, no production secret needed."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"}
    }
    env.pop("SECRET_KEY", None)
    result = run_python(*command, env=env)
    assert result.returncode == 0, result.stderr
    if command[0] == "manage.py":
        assert "config.settings.local" in result.stdout or "ALLOWED_HOSTS" in result.stdout
        assert "'example.com'" not in result.stdout
