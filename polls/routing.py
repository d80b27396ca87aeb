from django.urls import path

from polls import consumers

websocket_urlpatterns = [
    path("ws/poll/<str:code>/", consumers.PollTallyConsumer.as_asgi()),
    path("ws/my/", consumers.MyPollsConsumer.as_asgi()),
]
