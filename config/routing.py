"""WebSocket routes of every app."""

from chat.routing import websocket_urlpatterns as chat_routes
from notifications.routing import websocket_urlpatterns as notification_routes
from polls.routing import websocket_urlpatterns as poll_routes

websocket_urlpatterns = [*chat_routes, *notification_routes, *poll_routes]
