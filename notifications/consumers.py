"""The bell socket: every open tab of a signed-in user gets their badge and toasts."""

from channels.db import database_sync_to_async

from core.consumers import PushConsumer
from notifications import live
from notifications.selectors import unread_count


class BellConsumer(PushConsumer):
    """Relays the signed-in user's bell fragments; anonymous sockets are refused."""

    push_types = frozenset({"bell.update"})

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()  # before accept: the handshake is refused
            return
        await self.join(live.user_group(user.pk))
        await self.accept()
        count = await database_sync_to_async(unread_count)(user_id=user.pk)
        await self.send(text_data=live.render_badge(count=count))

    bell_update = PushConsumer.send_html
