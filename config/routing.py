"""WebSocket routes of every app."""

from polls.routing import websocket_urlpatterns as poll_routes

websocket_urlpatterns = [*poll_routes]
