"""The live sockets of polls: a poll page's tally, and the owner's "My polls" counts."""

import secrets
from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from core.consumers import PushConsumer
from core.db import in_worker_thread
from core.outlets import Outlet
from core.voters import voter_from_scope
from polls import fanout, frames, live, page_state, selectors, viewers
from polls.models import Poll
from polls.visibility import viewable_poll


class PollTallyConsumer(PushConsumer):
    """Relays a poll's live state to one page.

    Its pushes come from this process's fan-out (polls.fanout), not the channel layer: the
    tally and comments as frames shared by every socket of the poll, a change of state
    (close, reopen, edit, reveal) or of this viewer's own vote as a snapshot of the page's
    partials that this socket renders for its viewer. Who may still reach the poll and who
    sees the numbers are decided afresh on every push. A presenter page (?present=1) gets
    the same partials without the vote form and the comments.
    """

    channel_layer_alias = None  # every push arrives through the fan-out
    poll_id: int | None = None
    is_owner = False
    is_staff = False
    has_voted = False
    present = False
    signed_in = False
    voter = None
    voter_tag: str | None = None
    shown_version = 0
    shown_viewers: int | None = None

    async def connect(self):
        # Not on the database thread, where it would wait behind every other socket's
        # snapshot: a handshake left waiting for seconds is dropped by daphne.
        poll = await in_worker_thread(self.load_poll)
        if poll is None:
            await self.close()  # before accept: the handshake is refused
            return
        self.poll_id = poll.pk
        self.socket_id = secrets.token_hex(8)
        self.outlet = Outlet(scope=self.scope, send=self.send)
        await self.accept()
        fanout.hub().watch(poll.pk, self)
        self.shown_viewers = await viewers.viewers_seen(poll.pk, [self.socket_id])
        await self.send_snapshot()
        live.announce_viewers(poll.pk)  # the other pages learn of one more viewer
        live.push_at_close_time(poll)

    async def disconnect(self, code):
        if self.poll_id is None:
            return
        await viewers.viewer_left(self.poll_id, self.socket_id)
        live.announce_viewers(self.poll_id)

    def sees_results(self, visibility: selectors.Visibility) -> bool:
        return selectors.results_visible_in(
            visibility=visibility, has_voted=self.has_voted, is_owner=self.is_owner
        )

    def load_poll(self) -> Poll | None:
        """Find the poll and learn who this viewer is to it."""
        code = self.scope["url_route"]["kwargs"]["code"]
        self.voter = voter_from_scope(self.scope)
        user = self.scope.get("user")
        self.signed_in = bool(user is not None and user.is_authenticated)
        self.is_staff = bool(self.signed_in and user.is_staff)
        poll = viewable_poll(code=code, voter=self.voter, is_staff=self.is_staff)
        if poll is None:
            return None
        self.is_owner = selectors.is_poll_owner(poll=poll, voter=self.voter)
        self.has_voted = selectors.voter_has_voted(poll=poll, voter=self.voter)
        if self.voter.token or self.voter.user_id is not None:
            self.voter_tag = live.voter_tag(self.voter.key)
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.present = query.get("present") == ["1"]
        return poll

    async def send_snapshot(self):
        snapshot = await database_sync_to_async(self.render_snapshot)()
        if snapshot is not None:
            version, html = snapshot
            self.shown_version = max(self.shown_version, version)
            await self.send(text_data=html + frames.render_viewers(count=self.shown_viewers or 0))

    def render_snapshot(self) -> tuple[int, str] | None:
        """The page's live partials as this viewer sees them now."""
        version = frames.tally_version()
        poll = Poll.objects.filter(pk=self.poll_id).first()
        if poll is None:
            return None
        context = page_state.viewer_state(poll=poll, voter=self.voter, signed_in=self.signed_in)
        self.has_voted = context["your_vote"] is not None
        context.update({"version": version, "present": self.present})
        if not self.present:
            context["comments"] = selectors.recent_comments(poll=poll)
        return version, frames.render_state(context)


class MyPollsConsumer(PushConsumer):
    """Relays the live vote counts of the signed-in user's polls to their "My polls" pages."""

    push_types = frozenset({"poll.count"})

    async def connect(self):
        await self.accept_signed_in(live.owner_group)

    poll_count = PushConsumer.send_html
