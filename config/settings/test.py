"""Settings for the test suite: the same wiring as production, fast hashing, limits on."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES, env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A named test database, so that a server started by a test finds the same data.
# TEST_DATABASE_NAME lets two test runs share one machine.
_test_name = env("TEST_DATABASE_NAME", default="tally_test")
if "sqlite" in DATABASES["default"]["ENGINE"]:
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".{_test_name}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": _test_name}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests run periodic work themselves; a server they start may turn the scheduler on.
PERIODIC_TASKS_IN_PROCESS = env.bool("PERIODIC_TASKS_IN_PROCESS", default=False)
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# A Groq stub standing in for answers must not be asked for theme labels too.
GROQ_THEME_LABELS = env.bool("GROQ_THEME_LABELS", default=False)
# The shared search index of each test database in a folder of its own, outside the tree.
SEARCH_INDEX_DIR = env.str(
    "SEARCH_INDEX_DIR", default=str(Path(tempfile.gettempdir()) / f"tally-search-{_test_name}")
)
