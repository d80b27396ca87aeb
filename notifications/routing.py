from django.urls import path

from notifications import consumers

websocket_urlpatterns = [
    path("ws/notifications/", consumers.BellConsumer.as_asgi()),
]
