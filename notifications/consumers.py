"""The bell socket: every open tab of a signed-in user gets their badge and toasts."""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from notifications import live
from notifications.selectors import unread_count


class BellConsumer(AsyncWebsocketConsumer):
    """Relays the signed-in user's bell fragments; anonymous sockets are refused.

    With ?counts=1 (the "My polls" page) it also relays the live vote counts of their polls.
    """

    groups_joined: tuple[str, ...] = ()

    async def dispatch(self, message):
        # Pushes carry rendered HTML: skip channels' per-message hop to a database thread.
        if message["type"] == "bell.update":
            await self.bell_update(message)
        else:
            await super().dispatch(message)

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()  # before accept: the handshake is refused
            return
        self.groups_joined = (live.user_group(user.pk),)
        if parse_qs(self.scope.get("query_string", b"").decode()).get("counts") == ["1"]:
            self.groups_joined += (live.counts_group(user.pk),)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        count = await database_sync_to_async(unread_count)(user_id=user.pk)
        await self.send(text_data=live.render_badge(count=count))

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        """The socket is push-only; anything a client sends is ignored."""

    async def bell_update(self, event):
        await self.send(text_data=event["html"])
