"""WebSocket routes of every app."""

from chat.routing import websocket_urlpatterns as chat_routes
from polls.routing import websocket_urlpatterns as poll_routes

websocket_urlpatterns = [*chat_routes, *poll_routes]
