"""The bell socket: every open tab of a signed-in user gets their badge and toasts."""

from channels.db import database_sync_to_async

from core.consumers import PushConsumer
from notifications import live
from notifications.selectors import unread_count


class BellConsumer(PushConsumer):
    """Relays the signed-in user's bell fragments; anonymous sockets are refused."""

    push_types = frozenset({"bell.update"})

    async def connect(self):
        user_id = await self.accept_signed_in(live.user_group)
        if user_id is not None:
            count = await database_sync_to_async(unread_count)(user_id=user_id)
            await self.send(text_data=live.render_badge(count=count))

    bell_update = PushConsumer.send_html
