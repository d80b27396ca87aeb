"""The base of Tally's sockets, and of its push-only ones: the tally, the bell and "My polls"."""

import contextlib
from typing import ClassVar

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer


class SocketConsumer(AsyncWebsocketConsumer):
    """A consumer whose frames to a socket that has just closed are dropped, not raised."""

    async def send(self, text_data=None, bytes_data=None, close=False):
        # The client left, or daphne dropped the socket for a frame past its limits, while
        # this frame was on its way; the disconnect event follows and tidies up.
        with contextlib.suppress(Disconnected):
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)


class PushConsumer(SocketConsumer):
    """Joins its groups, relays what is pushed to them, and ignores what clients send.

    The event types in push_types carry rendered HTML and touch no database, so they are
    handled here directly: channels' dispatch would first hop to a database thread to tidy
    connections, once per socket for every push. So are what a client sends (ignored) and
    its goodbye: when thousands of pages close at once, their disconnects would otherwise
    queue on that one thread until daphne kills them.
    """

    push_types: ClassVar[frozenset[str]] = frozenset()
    client_types: ClassVar[frozenset[str]] = frozenset(
        {"websocket.receive", "websocket.disconnect"}
    )
    groups_joined: tuple[str, ...] = ()

    async def dispatch(self, message):
        if message["type"] in self.push_types or message["type"] in self.client_types:
            await getattr(self, get_handler_name(message))(message)
        else:
            await super().dispatch(message)

    async def accept_signed_in(self, group_of) -> int | None:
        """Join a signed-in user's socket to group_of(user id) and accept it; refuse an
        anonymous one at the handshake. Returns the user's id, or None if refused."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()  # before accept: the handshake is refused
            return None
        await self.join(group_of(user.pk))
        await self.accept()
        return user.pk

    async def join(self, *groups: str) -> None:
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined += groups

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        """The socket is push-only; anything a client sends is ignored."""

    async def send_html(self, event):
        await self.send(text_data=event["html"])
