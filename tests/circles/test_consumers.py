"""The live tally socket of a circle's poll: members watch it move; a member who leaves or
is removed gets nothing more on a socket they still hold open."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from circles import services
from config.asgi import application
from core.voters import Voter
from polls import services as poll_services
from polls.frames import owner_count
from tests.circles.factories import circle_poll
from tests.helpers import receive_until, session_id
from tests.polls.test_consumers import DEADLINE, total_votes

pytestmark = pytest.mark.django_db(transaction=True)

QUIET = 1.5  # seconds a revoked socket is watched for a push that must not come


async def open_socket(poll, user) -> WebsocketCommunicator:
    cookie = f"sessionid={await database_sync_to_async(session_id)(user)}"
    communicator = WebsocketCommunicator(
        application,
        f"/ws/poll/{poll.code}/",
        headers=[(b"origin", b"http://testserver"), (b"cookie", cookie.encode())],
    )
    connected, _ = await communicator.connect(timeout=DEADLINE)
    assert connected
    await communicator.receive_from(timeout=DEADLINE)  # the snapshot
    return communicator


async def vote(poll, user):
    option_id = await database_sync_to_async(lambda: poll.options.first().pk)()
    voter = Voter(token="", ip="127.0.0.1", user_id=user.pk)
    await database_sync_to_async(poll_services.vote_cast)(
        poll=poll, voter=voter, option_ids=[option_id]
    )


async def tally_frames_until_quiet(communicator) -> list[str]:
    """The tally frames a socket gets before it falls quiet (or is closed)."""
    frames = []
    while True:
        try:
            message = await communicator.receive_output(timeout=QUIET)
        except TimeoutError:
            return frames
        if message["type"] == "websocket.close":
            return frames
        if total_votes(message.get("text", "")) >= 1:
            frames.append(message["text"])


async def test_a_member_watches_another_members_vote_arrive(private_poll, member, admin):
    watching = await open_socket(private_poll, admin)
    await vote(private_poll, member)
    await receive_until(watching, lambda html: total_votes(html) == 1)
    await watching.disconnect()


@pytest.mark.parametrize("how", ["removed", "left"])
async def test_a_former_member_open_socket_gets_no_further_pushes(
    how, circle, private_poll, member, admin
):
    """Right after removal (or leaving) the open socket gets no tally, while a member's
    socket on the same poll still does."""
    staying = await open_socket(private_poll, admin)
    leaving = await open_socket(private_poll, member)
    if how == "removed":
        await database_sync_to_async(services.member_remove)(
            circle=circle, user=admin, member_id=member.pk
        )
    else:
        await database_sync_to_async(services.circle_leave)(circle=circle, user=member)
    await vote(private_poll, admin)
    await receive_until(staying, lambda html: total_votes(html) == 1)
    assert await tally_frames_until_quiet(leaving) == []
    await staying.disconnect()
    await leaving.disconnect()


async def test_my_polls_counts_stop_for_an_owner_who_left(circle, member):
    """An owner who left the circle gets no more vote counts of its poll on "My polls"."""
    poll = await database_sync_to_async(circle_poll)(circle, member, question="Left behind")
    assert await database_sync_to_async(owner_count)(poll.pk) is not None
    await database_sync_to_async(services.circle_leave)(circle=circle, user=member)
    assert await database_sync_to_async(owner_count)(poll.pk) is None
