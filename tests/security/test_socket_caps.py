"""Sockets per address are capped, and "ask this poll" is limited per address and per poll."""

import re

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings

from config.asgi import application
from core.voters import new_voter_token
from tests.chat.test_ask import ask, make_poll
from tests.helpers import receive_until

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://testserver")
DEADLINE = 30
ENDED = re.compile(r'data-state="(answered|failed)"|data-ask-refused=')


async def outcome(communicator) -> str:
    """The frame that ends a question: its answer, or its refusal."""
    return await receive_until(communicator, ENDED.search, deadline=DEADLINE)


@pytest.fixture(autouse=True)
def no_groq(settings):
    settings.GROQ_API_KEY = ""
    settings.RATELIMIT_ENABLE = True


def socket(path: str, address: str, token: str | None = None) -> WebsocketCommunicator:
    cookie = f"{django_settings.VOTER_COOKIE_NAME}={token or new_voter_token()}"
    communicator = WebsocketCommunicator(
        application, path, headers=[ORIGIN, (b"cookie", cookie.encode())]
    )
    communicator.scope["client"] = (address, 40000)
    return communicator


async def open_many(path: str, address: str, count: int):
    sockets, accepted = [], 0
    for _ in range(count):
        communicator = socket(path, address)
        connected, _ = await communicator.connect(timeout=DEADLINE)
        accepted += connected
        sockets.append((communicator, connected))
    return sockets, accepted


async def close_all(sockets):
    for communicator, connected in sockets:
        if connected:
            await communicator.disconnect()


async def test_fifty_ask_sockets_from_one_address_are_refused_past_the_cap(settings, capsys):
    """50 ask sockets from one address: the first WS_ASK_SOCKETS_PER_ADDRESS open, the
    rest are refused; another address is unaffected, and a freed place can be taken."""
    settings.WS_ASK_SOCKETS_PER_ADDRESS = 10
    poll = await make_poll()
    path = f"/ws/poll/{poll.code}/ask/"
    sockets, accepted = await open_many(path, "198.51.100.40", 50)
    with capsys.disabled():
        print(f"\n[socket caps] 50 ask sockets from one address: {accepted} accepted")
    assert accepted == 10
    other = socket(path, "198.51.100.41")
    assert (await other.connect())[0] is True
    await other.disconnect()
    # The same /64 is the same client.
    v6, v6_accepted = await open_many(path, "2001:db8:7::1", 11)
    assert v6_accepted == 10
    await close_all(v6)
    first = next(communicator for communicator, connected in sockets if connected)
    await first.disconnect()
    again = socket(path, "198.51.100.40")
    assert (await again.connect())[0] is True
    await again.disconnect()
    await close_all([(c, ok) for c, ok in sockets if c is not first])


async def test_every_socket_kind_counts_toward_the_address_cap(settings):
    """Tally sockets and ask sockets share one cap per address."""
    settings.WS_SOCKETS_PER_ADDRESS = 4
    poll = await make_poll()
    tallies, tally_accepted = await open_many(f"/ws/poll/{poll.code}/", "198.51.100.50", 3)
    asks, ask_accepted = await open_many(f"/ws/poll/{poll.code}/ask/", "198.51.100.50", 2)
    assert (tally_accepted, ask_accepted) == (3, 1)
    await close_all(tallies + asks)


async def test_caps_are_off_when_rate_limits_are(settings):
    """RATELIMIT_ENABLE=false (load tests) lifts the socket caps."""
    settings.RATELIMIT_ENABLE = False
    settings.WS_ASK_SOCKETS_PER_ADDRESS = 2
    poll = await make_poll()
    sockets, accepted = await open_many(f"/ws/poll/{poll.code}/ask/", "198.51.100.60", 5)
    assert accepted == 5
    await close_all(sockets)


async def test_questions_are_limited_per_address_across_voters(settings):
    """New voter tokens do not buy more questions from one address."""
    settings.RATELIMITS = {**settings.RATELIMITS, "ask-ip": "2/m"}
    poll = await make_poll()
    path = f"/ws/poll/{poll.code}/ask/"
    frames = []
    for _ in range(3):
        communicator = socket(path, "198.51.100.70")
        await communicator.connect()
        await ask(communicator, "Who leads?")
        frames.append(await outcome(communicator))
        await communicator.disconnect()
    assert 'data-state="answered"' in frames[0]
    assert 'data-state="answered"' in frames[1]
    assert 'data-ask-refused="rate_limited"' in frames[2]


async def test_a_poll_has_a_daily_budget_of_model_calls(settings):
    """Past its daily budget a poll refuses questions from anyone, anywhere."""
    settings.RATELIMITS = {**settings.RATELIMITS, "ask-poll-day": "2/d"}
    poll = await make_poll()
    path = f"/ws/poll/{poll.code}/ask/"
    frames = []
    for index in range(3):
        communicator = socket(path, f"198.51.100.{80 + index}")
        await communicator.connect()
        await ask(communicator, "Who leads?")
        frames.append(await outcome(communicator))
        await communicator.disconnect()
    assert 'data-ask-refused="rate_limited"' in frames[2]
    assert "today" in frames[2]
    assert 'data-state="answered"' in frames[0]
