from django.urls import path

from chat import consumers

websocket_urlpatterns = [
    path("ws/poll/<str:code>/ask/", consumers.AskConsumer.as_asgi()),
]
