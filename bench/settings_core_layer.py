"""Production settings with channels-redis's core layer instead of the pub/sub layer.

For bench/fanout.py only: DJANGO_SETTINGS_MODULE=bench.settings_core_layer compares the
fan-out cost per socket of the two layers without touching Tally's settings.
"""

from config.settings.production import *  # noqa: F403
from config.settings.production import REDIS_URL

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}
