"""Production settings: secrets without defaults, TLS-only switches on unless turned off."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DEVELOPMENT_SECRET_KEY, env

# Fail closed: production refuses to start rather than run with a guessable key or with
# any Host header accepted.
DEBUG = False
SECRET_KEY = env("SECRET_KEY")
if SECRET_KEY == DEVELOPMENT_SECRET_KEY or "insecure" in SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY is the published development key: set your own.")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("SECRET_KEY must be a long random value (50+ characters).")
if "ALLOWED_HOSTS" not in os.environ:
    raise ImproperlyConfigured("Set ALLOWED_HOSTS to the site's host names.")
ALLOWED_HOSTS = [host for host in env.list("ALLOWED_HOSTS") if host.strip()]
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is empty: set it to the site's host names.")
SITE_URL = env("SITE_URL").rstrip("/") or f"https://{ALLOWED_HOSTS[0]}"
# HASH_KEY defaults to SECRET_KEY (see base); set apart, it must be as strong.
HASH_KEY = env("HASH_KEY", default="") or SECRET_KEY
if HASH_KEY == DEVELOPMENT_SECRET_KEY or len(HASH_KEY) < 50:
    raise ImproperlyConfigured("HASH_KEY must be a long random value (50+ characters).")

# Each TLS-only switch can be turned off for plain-HTTP runs on loopback (benchmarks).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

if env("SENTRY_DSN"):
    import sentry_sdk

    sentry_sdk.init(dsn=env("SENTRY_DSN"), send_default_pii=False)
