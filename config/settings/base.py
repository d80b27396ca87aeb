"""Settings shared by every environment.

Every value comes from one typed environment with a working default: with no variables set,
Tally runs on SQLite, the in-memory channel layer and in-process tasks.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost", "[::1]", "testserver"]),
    CSRF_TRUSTED_ORIGINS=(list, []),
    DATABASE_URL=(str, f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
    DATABASE_POOL_MAX_SIZE=(int, 20),
    DATABASE_POOL_TIMEOUT=(float, 10.0),
    FAST_VOTE=(bool, True),
    FAST_VOTE_POOL_SIZE=(int, 2),
    FAST_VOTE_BATCH_MAX=(int, 128),
    FAST_VOTE_QUEUE_MAX=(int, 2000),
    SQLITE_BUSY_TIMEOUT=(float, 5.0),
    REDIS_URL=(str, ""),
    REDIS_SOCKET_TIMEOUT=(float, 0.5),
    TRUSTED_PROXIES=(list, []),
    HASH_KEY=(str, ""),
    HASH_KEY_FALLBACKS=(list, []),
    SEARCH_STATEMENT_TIMEOUT_MS=(int, 1000),
    RATELIMIT_SEARCH_PER_IP=(str, "60/m"),
    RATELIMIT_ASK_PER_IP=(str, "30/m"),
    RATELIMIT_LOGIN_PER_USERNAME=(str, "20/h"),
    IDEMPOTENCY_RETENTION_HOURS=(int, 48),
    NOTIFICATION_RETENTION_DAYS=(int, 90),
    ASK_MODEL_CALLS_PER_POLL_PER_DAY=(int, 500),
    WS_SOCKETS_PER_ADDRESS=(int, 200),
    WS_ASK_SOCKETS_PER_ADDRESS=(int, 20),
    RATELIMIT_ENABLE=(bool, True),
    RATELIMIT_VOTE_PER_IP=(str, "120/m"),
    RATELIMIT_VOTE_PER_VOTER=(str, "20/m"),
    RATELIMIT_CREATE_PER_IP=(str, "20/h"),
    RATELIMIT_ASK_PER_VOTER=(str, "10/m"),
    RATELIMIT_LOGIN_PER_IP=(str, "10/m"),
    RATELIMIT_SIGNUP_PER_IP=(str, "5/h"),
    RATELIMIT_API_TOKEN_PER_USER=(str, "10/h"),
    RATELIMIT_VERIFY_EMAIL_PER_USER=(str, "5/h"),
    RATELIMIT_REPORT_PER_IP=(str, "10/h"),
    NOTIFY_VOTE_BATCH_SECONDS=(int, 300),
    PERIODIC_TASKS_IN_PROCESS=(bool, True),
    EMBED_ALLOWED_ORIGINS=(list, ["*"]),
    SITE_URL=(str, ""),
    GROQ_API_KEY=(str, ""),
    GROQ_MODEL=(str, "llama-3.3-70b-versatile"),
    GROQ_BASE_URL=(str, ""),
    GROQ_CONNECT_TIMEOUT=(float, 5.0),
    GROQ_READ_TIMEOUT=(float, 20.0),
    GROQ_ANSWER_TIMEOUT=(float, 60.0),
    GROQ_MAX_RETRIES=(int, 1),
    GROQ_THEME_LABELS=(bool, True),
    THEMES_COALESCE_SECONDS=(float, 10.0),
    EMAIL_URL=(str, "consolemail://"),
    EMAIL_TIMEOUT=(float, 10.0),
    DEFAULT_FROM_EMAIL=(str, "Tally <tally@localhost>"),
    SENTRY_DSN=(str, ""),
    LOG_LEVEL=(str, "INFO"),
)

# The published development key: production settings refuse to start with it.
DEVELOPMENT_SECRET_KEY = "insecure-local-only-key-change-me-in-production-0123456789"  # noqa: S105
SECRET_KEY = env("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
# Keys the hashes of voters, addresses and creators (core.security.keyed_hash); apart from
# SECRET_KEY so that rotating that one keeps vote dedupe. Defaults to SECRET_KEY, so a site
# that sets it later keeps its hashes by putting the old SECRET_KEY in HASH_KEY.
HASH_KEY = env("HASH_KEY") or SECRET_KEY
HASH_KEY_FALLBACKS = env("HASH_KEY_FALLBACKS")
# Addresses or networks (CIDR) of the proxies whose X-Forwarded-For is believed; nobody
# else's is (core.security.client_ip).
TRUSTED_PROXIES = env("TRUSTED_PROXIES")
# Longest a full-text search may run on PostgreSQL (core/fulltext.py), in milliseconds.
SEARCH_STATEMENT_TIMEOUT_MS = env("SEARCH_STATEMENT_TIMEOUT_MS")
DEBUG = env("DEBUG")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "ninja",  # serves the API docs page and its scripts from static files, not a CDN
    "core",
    "accounts",
    "circles",
    "polls",
    "chat",
    "notifications",
    "analytics",
    "audit",
    "moderation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.voters.VoterTokenMiddleware",
    "core.middleware.LoginThrottleMiddleware",
    "core.middleware.RateLimitedMiddleware",
    "core.middleware.DatabaseUnavailableMiddleware",
    "analytics.middleware.OpenTrackingMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

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
                "notifications.context_processors.bell",
            ],
        },
    },
]

# Database: PostgreSQL through DATABASE_URL, a SQLite file otherwise.
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASE_ENGINE = DATABASES["default"]["ENGINE"]
if "postgresql" in DATABASE_ENGINE:
    # Under ASGI persistent connections leak; a pool gives reuse without that.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env("DATABASE_POOL_MAX_SIZE"),
        "timeout": env("DATABASE_POOL_TIMEOUT"),
    }
elif "sqlite" in DATABASE_ENGINE:
    # WAL and immediate transactions turn "database is locked" into a short wait.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env("SQLITE_BUSY_TIMEOUT"),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# The vote route ahead of Django (polls/fast_vote/): on PostgreSQL only, where its own async
# pool of this size commits the votes that arrive together in one transaction, at most
# FAST_VOTE_BATCH_MAX a time; beyond FAST_VOTE_QUEUE_MAX waiting votes it answers 503.
FAST_VOTE = env("FAST_VOTE") and "postgresql" in DATABASE_ENGINE
FAST_VOTE_POOL_SIZE = env("FAST_VOTE_POOL_SIZE")
FAST_VOTE_BATCH_MAX = env("FAST_VOTE_BATCH_MAX")
FAST_VOTE_QUEUE_MAX = env("FAST_VOTE_QUEUE_MAX")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL")

# Seconds a Redis command may take before Tally degrades without it (see core/cache.py).
REDIS_SOCKET_TIMEOUT = env("REDIS_SOCKET_TIMEOUT")
REDIS_OPTIONS = {
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "health_check_interval": 10,
}

if REDIS_URL:
    CACHES = {
        "default": {
            # Django's Redis cache that answers as an empty cache while Redis is down.
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tally",
            "OPTIONS": REDIS_OPTIONS,
        }
    }
    # The pub/sub layer publishes a group message once and each process fans it out to its
    # own sockets, so a push costs one Redis command however many tabs watch.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, **REDIS_OPTIONS}]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery: a Redis broker in production; tasks run in-process on the embedded default.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# A task is acknowledged once it has run, so a worker killed mid-task (kill -9, OOM) leaves
# it on the queue for the next worker; every task is idempotent, so running again is safe.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# An unacknowledged task goes back to the queue this many seconds after its worker died.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300),
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
}
# Queueing a task while Redis is down fails fast: the request that queued it goes on.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0.1,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
# Owners hear of new votes at most once per window per poll.
NOTIFY_VOTE_BATCH_SECONDS = env("NOTIFY_VOTE_BATCH_SECONDS")
# Celery beat runs this in production; on the embedded default (no broker) the server
# runs it on a thread of its own unless PERIODIC_TASKS_IN_PROCESS is false.
CELERY_BEAT_SCHEDULE = {
    "close-due-polls": {"task": "polls.tasks.close_due_polls", "schedule": 5.0},
    "flush-vote-batches": {
        "task": "notifications.tasks.flush_vote_batches",
        "schedule": float(max(1, min(NOTIFY_VOTE_BATCH_SECONDS, 30))),
    },
    "send-held-emails": {"task": "notifications.tasks.send_held_emails", "schedule": 60.0},
    "purge-expired": {"task": "core.tasks.purge_expired", "schedule": 3600.0},
}
# Retention (core/retention.py): what each app deletes once it is no longer needed.
IDEMPOTENCY_RETENTION_HOURS = env("IDEMPOTENCY_RETENTION_HOURS")
NOTIFICATION_RETENTION_DAYS = env("NOTIFICATION_RETENTION_DAYS")
RETENTION_PURGES = [
    "polls.retention.idempotent_votes_purge",
    "polls.retention.search_index_prune",
    "notifications.retention.read_notifications_purge",
]
PERIODIC_TASKS_IN_PROCESS = env("PERIODIC_TASKS_IN_PROCESS")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

vars().update(env.email_url("EMAIL_URL"))
# A mail server that stops answering must not hold a worker (or a request) for long.
EMAIL_TIMEOUT = env("EMAIL_TIMEOUT")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL")
# Where links in emails point. Unset, an email sent for a request links to that request's
# own host, and a background one (a notification) to the first ALLOWED_HOSTS entry.
SITE_URL = env("SITE_URL").rstrip("/")

SESSION_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
CSRF_COOKIE_HTTPONLY = False  # htmx and JSON clients read it to send X-CSRFToken.
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (django-csp): scripts only from Tally's own
# static files (no inline script, no eval), nothing may frame a page but the embed, which
# replaces frame-ancestors for itself. Inline styles stay allowed: result bars set their
# width in a style attribute.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Who may frame /poll/<code>/embed (its frame-ancestors): any site, or a list of origins.
EMBED_ALLOWED_ORIGINS = env("EMBED_ALLOWED_ORIGINS")
# Features no page of Tally uses, denied to it and to anything it embeds.
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(),"
    " magnetometer=(), gyroscope=(), accelerometer=(), interest-cohort=()"
)
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Largest bodies and field counts accepted before a request is refused with 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# Rate limits: "<count>/<s|m|h|d>"; RATELIMIT_ENABLE=false turns every limit off.
RATELIMIT_ENABLE = env("RATELIMIT_ENABLE")
RATELIMITS = {
    "vote-ip": env("RATELIMIT_VOTE_PER_IP"),
    "vote-voter": env("RATELIMIT_VOTE_PER_VOTER"),
    "create-ip": env("RATELIMIT_CREATE_PER_IP"),
    "ask-voter": env("RATELIMIT_ASK_PER_VOTER"),
    "login-ip": env("RATELIMIT_LOGIN_PER_IP"),
    "signup-ip": env("RATELIMIT_SIGNUP_PER_IP"),
    "search-ip": env("RATELIMIT_SEARCH_PER_IP"),
    "ask-ip": env("RATELIMIT_ASK_PER_IP"),
    "login-user": env("RATELIMIT_LOGIN_PER_USERNAME"),
    "ask-poll-day": f"{env('ASK_MODEL_CALLS_PER_POLL_PER_DAY')}/d",
    "api-token": env("RATELIMIT_API_TOKEN_PER_USER"),
    "verify-email": env("RATELIMIT_VERIFY_EMAIL_PER_USER"),
    "report-ip": env("RATELIMIT_REPORT_PER_IP"),
}
# Open WebSockets per client address (or IPv6 /64) on one server process (core/sockets.py).
WS_SOCKETS_PER_ADDRESS = env("WS_SOCKETS_PER_ADDRESS")
WS_ASK_SOCKETS_PER_ADDRESS = env("WS_ASK_SOCKETS_PER_ADDRESS")
# Log-in forms throttled per address and per username (core.middleware).
LOGIN_THROTTLE_PATHS = ("/accounts/login/", "/admin/login/")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "polls:my-polls"
LOGOUT_REDIRECT_URL = "polls:home"

VOTER_COOKIE_NAME = "tally_voter"
VOTER_COOKIE_MAX_AGE = 365 * 24 * 60 * 60

GROQ_API_KEY = env("GROQ_API_KEY")
GROQ_MODEL = env("GROQ_MODEL")
GROQ_BASE_URL = env("GROQ_BASE_URL")
# Seconds: to connect, between two streamed chunks, and for a whole answer. Retries happen
# only before the first token.
GROQ_CONNECT_TIMEOUT = env("GROQ_CONNECT_TIMEOUT")
GROQ_READ_TIMEOUT = env("GROQ_READ_TIMEOUT")
GROQ_ANSWER_TIMEOUT = env("GROQ_ANSWER_TIMEOUT")
GROQ_MAX_RETRIES = env("GROQ_MAX_RETRIES")
# Topic tags from Groq (with GROQ_API_KEY set); off, or when a Groq call fails, the local
# method (chat/tags.py) tags polls.
GROQ_TAGS = env.bool("GROQ_TAGS", default=False)

# The search matrix every process of the machine maps (chat/search_index.py), one folder
# per database under it; empty keeps one matrix in each process instead.
SEARCH_INDEX_DIR = env.str("SEARCH_INDEX_DIR", default=str(BASE_DIR / "var" / "search-index"))
# k-means cells a search scans once the index is large enough to be split into cells.
SEARCH_INDEX_PROBES = env.int("SEARCH_INDEX_PROBES", default=16)
# Comment themes: labels from Groq (where a key is set) or the local key phrase; new comments
# within this many seconds are grouped into one recomputation.
GROQ_THEME_LABELS = env("GROQ_THEME_LABELS")
THEMES_COALESCE_SECONDS = env("THEMES_COALESCE_SECONDS")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
    },
}
