"""Settings for running Tally on a developer's machine (`make run`).

DEBUG stays off unless DEBUG=1 is set, so the dev server shows Tally's own 404, 403 and 500
pages as production does. WhiteNoise serves the static files straight from their source
folders (no collectstatic, no manifest), with DEBUG on or off.
"""

from .base import *  # noqa: F403
from .base import STORAGES, env

DEBUG = env.bool("DEBUG", default=False)

WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
