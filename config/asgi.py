"""ASGI entry point: Django for HTTP, Channels consumers for WebSockets, on one port."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from config.server import skip_twisted_form_parsing  # noqa: E402
from core.outlets import OutletMiddleware  # noqa: E402
from core.periodic import start_in_process  # noqa: E402
from core.push import remember_server_loop  # noqa: E402
from core.sockets import SocketCapMiddleware  # noqa: E402
from polls.fast_vote.route import FastVoteRoute  # noqa: E402

application = remember_server_loop(
    ProtocolTypeRouter(
        {
            # Votes on PostgreSQL are answered ahead of Django's view stack (FAST_VOTE).
            "http": FastVoteRoute(django_asgi_app) if settings.FAST_VOTE else django_asgi_app,
            "websocket": OutletMiddleware(
                SocketCapMiddleware(
                    AllowedHostsOriginValidator(
                        AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
                    )
                )
            ),
        }
    )
)

skip_twisted_form_parsing()

# The embedded default has no Celery beat: the server runs the periodic tasks itself.
start_in_process()

# Everything loaded so far lives as long as the process. Moved out of the collector's
# reach, it is no longer walked by every full collection: those took tens of milliseconds
# and made the slowest votes (p99) twice as slow at a thousand votes a second.
gc.freeze()
