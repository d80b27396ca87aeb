"""The live tally socket: snapshots, pushes, coalescing, visibility and refusals."""

import asyncio
import re
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.utils import timezone

from config.asgi import application
from core.voters import Voter, new_voter_token
from polls import services
from polls.models import Poll
from tests.helpers import receive_until
from tests.polls.factories import PollFactory

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://testserver")
DEADLINE = 10


def total_votes(html: str) -> int:
    match = re.search(r"tabular-nums[^>]*>(\d+)</span> vote", html)
    return int(match.group(1)) if match else -1


def connect(poll, *, token=None, origin=ORIGIN):
    headers = [origin] if origin else []
    if token:
        headers.append((b"cookie", f"{settings.VOTER_COOKIE_NAME}={token}".encode()))
    return WebsocketCommunicator(application, f"/ws/poll/{poll.code}/", headers=headers)


async def cast(poll, *, token=None, option_index=0):
    option_ids = await database_sync_to_async(lambda: [o.id for o in poll.options.all()])()
    voter = Voter(token=token or new_voter_token(), ip="127.0.0.1")
    return await database_sync_to_async(services.vote_cast)(
        poll=poll, voter=voter, option_ids=[option_ids[option_index]]
    )


async def test_connect_sends_current_tally():
    """A new socket gets the poll's current tally straight away."""
    poll = await database_sync_to_async(PollFactory)()
    await cast(poll)
    communicator = connect(poll)
    connected, _ = await communicator.connect()
    assert connected
    frame = await communicator.receive_from(timeout=DEADLINE)
    assert 'id="tally"' in frame
    assert total_votes(frame) == 1
    await communicator.disconnect()


async def test_vote_is_pushed_to_open_socket():
    """A vote reaches an open page without reload."""
    poll = await database_sync_to_async(PollFactory)()
    communicator = connect(poll)
    await communicator.connect()
    await communicator.receive_from(timeout=DEADLINE)
    await cast(poll)
    frame = await receive_until(communicator, lambda html: total_votes(html) == 1)
    assert "Be the first to vote!" not in frame
    await communicator.disconnect()


async def test_many_votes_are_coalesced_and_final_state_arrives():
    """Votes faster than ten a second produce at most ~10 tally pushes a second, the last
    one showing every vote."""
    poll = await database_sync_to_async(PollFactory)()
    communicator = connect(poll)
    await communicator.connect()
    await communicator.receive_from(timeout=DEADLINE)
    started = asyncio.get_running_loop().time()
    await asyncio.gather(*(cast(poll) for _ in range(50)))
    frames = []
    frame = await receive_until(
        communicator, lambda html: frames.append(html) or total_votes(html) == 50
    )
    elapsed = asyncio.get_running_loop().time() - started
    assert total_votes(frame) == 50
    tally_pushes = [html for html in frames if 'id="tally"' in html]
    assert len(tally_pushes) <= elapsed * 10 + 2
    await communicator.disconnect()


async def test_after_vote_poll_hides_numbers_until_this_browser_votes():
    """On an "after voting" poll a socket sees numbers only once its browser has voted."""
    poll = await database_sync_to_async(PollFactory)(
        results_visibility=Poll.ResultsVisibility.AFTER_VOTE
    )
    token = new_voter_token()
    communicator = connect(poll, token=token)
    await communicator.connect()
    first = await communicator.receive_from(timeout=DEADLINE)
    assert "Results appear once you have voted." in first
    await cast(poll)  # someone else votes: still hidden here
    hidden = await receive_until(communicator, lambda html: "so far" in html and "1</span>" in html)
    assert "%" not in hidden
    await cast(poll, token=token)
    shown = await receive_until(communicator, lambda html: "%" in html)
    assert total_votes(shown) == 2
    await communicator.disconnect()


async def test_after_close_poll_shows_results_to_everyone_on_close():
    """An "after close" poll sends no numbers until it closes, then the final result to all."""
    poll = await database_sync_to_async(PollFactory)(
        results_visibility=Poll.ResultsVisibility.AFTER_CLOSE
    )
    await cast(poll)
    communicator = connect(poll)
    await communicator.connect()
    first = await communicator.receive_from(timeout=DEADLINE)
    assert "Results appear when the poll closes." in first
    await database_sync_to_async(services.poll_close)(poll=poll)
    final = await receive_until(communicator, lambda html: "final results" in html)
    assert "100.0%" in final
    await communicator.disconnect()


async def test_foreign_origin_is_refused():
    """A socket from another site's page is refused at the handshake."""
    poll = await database_sync_to_async(PollFactory)()
    communicator = connect(poll, origin=(b"origin", b"https://evil.example"))
    connected, _ = await communicator.connect()
    assert not connected


async def test_missing_origin_is_refused():
    """A socket without an Origin header is refused at the handshake."""
    poll = await database_sync_to_async(PollFactory)()
    communicator = connect(poll, origin=None)
    connected, _ = await communicator.connect()
    assert not connected


async def test_unknown_poll_is_refused():
    """A socket for a poll that does not exist is refused cleanly."""
    communicator = WebsocketCommunicator(application, "/ws/poll/nosuchpoll/", headers=[ORIGIN])
    connected, _ = await communicator.connect()
    assert not connected


async def test_viewer_count_goes_up_and_down():
    """Open tabs are counted, and the count comes back down when a tab closes."""
    poll = await database_sync_to_async(PollFactory)()
    first = connect(poll)
    await first.connect()
    await receive_until(first, lambda html: "1</span> watching" in html)
    second = connect(poll)
    await second.connect()
    await receive_until(first, lambda html: "2</span> watching" in html)
    await second.disconnect()
    await receive_until(first, lambda html: "1</span> watching" in html)
    await first.disconnect()


async def test_reaching_the_close_time_pushes_the_final_result():
    """When a poll's close time passes, open pages get the final result without a vote."""
    closes_at = timezone.now() + timedelta(seconds=2)
    poll = await database_sync_to_async(PollFactory)(
        results_visibility=Poll.ResultsVisibility.AFTER_CLOSE, closes_at=closes_at
    )
    await cast(poll)
    communicator = connect(poll)
    await communicator.connect()
    first = await communicator.receive_from(timeout=DEADLINE)
    assert "Results appear when the poll closes." in first
    final = await receive_until(communicator, lambda html: "final results" in html)
    assert "100.0%" in final
    await communicator.disconnect()
