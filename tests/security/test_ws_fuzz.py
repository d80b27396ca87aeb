"""Random frames on every WebSocket Tally serves: the server stays up, no consumer raises,
and a healthy socket on the same poll (or of the same user) keeps getting its pushes.

Each socket takes FRAMES frames from a seeded generator: bad JSON, valid JSON of the wrong
shape, binary, empty, deeply nested, unicode oddities, invalid UTF-8, fragmented messages
and frames beyond daphne's 1 MiB limit. The seed is printed; WS_FUZZ_SEED=<seed> replays a
run. Frames the protocol forbids (too big, not UTF-8) must make the server close or drop
that one socket; anything else closing a socket is a crash.
"""

import asyncio
import contextlib
import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import websockets
from asgiref.sync import sync_to_async
from websockets.exceptions import ConnectionClosed

from chat import tasks as chat_tasks
from chat.consumers import AskConsumer
from config.routing import websocket_urlpatterns
from tests.accounts.factories import UserFactory
from tests.helpers import session_id
from tests.polls.factories import PollFactory
from tests.polls.test_live_server import cast_votes, shown_total
from tests.server import run_daphne

pytestmark = pytest.mark.django_db(transaction=True)

FRAMES = 2000
DROPS = 20  # in a row: a send racing the drop comes a few times in 20
SEED = int(os.environ.get("WS_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
DEADLINE = 30  # seconds for any one wait: the first question loads the embedding model
MAX_FRAME = 1024 * 1024  # daphne's default frame and message limit
TOO_BIG, NOT_UTF8 = 1009, 1007
# daphne fails a connection by dropping it (autobahn's failByDrop): the client sees 1006.
DROPPED = 1006
SERVER_ERRORS = re.compile(
    r"Traceback|Exception inside application|Unhandled|took too long| ERROR | CRITICAL "
)
ANSWERED = re.compile(r'data-state="answered"')
UNREAD = re.compile(r'id="bell-badge" data-unread="(\d+)"')

ODD_TEXT = [
    "\u0000",
    "a\u0000b",
    "\ud800",
    "\udfff",
    "x\udbff\udfffy",
    "\ufeff",
    "\ufffe\uffff",
    "\u202eevil\u202c",
    "\u200b\u200c\u200d\u2060",
    "e" + "\u0301" * 500,
    "\U0001f9d1\u200d\U0001f91d\u200d\U0001f9d1",
    "\U0010ffff",
    "\r\n\t\x0b\x0c\x1b[31m",
    "<script>alert(1)</script>",
    "{{ poll }}{% debug %}",
    "ǅǈǋ ﬃ ẞ İı",
    "‮" * 1000,
    "💥" * 600,
    " " * 501,
    "q" * 501,
    "",
]
UTF8_TEXT = [text for text in ODD_TEXT if not re.search("[\ud800-\udfff]", text)]
BAD_UTF8 = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b'{"question": "\xe2\x82"}']


@dataclass(frozen=True)
class Frame:
    """One message to send: its payload, as text or binary, maybe in fragments."""

    kind: str
    payload: str | bytes | list
    text: bool | None = None
    closes_with: int | None = None  # the close code the server must answer it with


def random_json(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth > 3 or roll < 0.3:
        return rng.choice(
            [
                None,
                True,
                False,
                0,
                -1,
                2**70,
                1e308,
                -0.0,
                rng.random(),
                rng.choice(ODD_TEXT),
                "question",
                "x" * rng.randrange(0, 2000),
            ]
        )
    if roll < 0.6:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(0, 6))]
    keys = ["question", "HEADERS", "type", "text", "bytes", "", "__proto__", rng.choice(ODD_TEXT)]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(0, 6))}


def bad_json(rng: random.Random) -> str:
    valid = json.dumps({"question": "Which option leads?", "HEADERS": {"HX-Request": "true"}})
    return rng.choice(
        [
            valid[: rng.randrange(1, len(valid))],
            valid.replace('"', "'"),
            "{" * rng.randrange(1, 50),
            '{"question": NaN}',
            '{"question": Infinity}',
            '{"question": "a" "b"}',
            "[1, 2,]",
            "undefined",
            "\x00" * rng.randrange(1, 100),
            "".join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(1, 300))),
            "".join(chr(rng.randrange(0x80, 0xD7FF)) for _ in range(rng.randrange(1, 300))),
        ]
    )


def nested(rng: random.Random) -> str:
    if rng.random() < 0.5:
        depth = rng.choice([1000, 10_000, 100_000])
        return "[" * depth + "]" * depth
    depth = rng.choice([1000, 10_000, 50_000])
    return '{"question": ' * depth + '"deep"' + "}" * depth


def make_frame(rng: random.Random) -> Frame:
    roll = rng.random()
    if roll < 0.2:
        return Frame("bad json", bad_json(rng))
    if roll < 0.47:
        return Frame("wrong shape", json.dumps(random_json(rng)))
    if roll < 0.57:
        question = rng.choice(UTF8_TEXT) + rng.choice(["", " Who leads?"])
        return Frame("odd question", json.dumps({"question": question}, ensure_ascii=False))
    if roll < 0.64:
        return Frame("odd question (escaped)", json.dumps({"question": rng.choice(ODD_TEXT)}))
    if roll < 0.79:
        return Frame("binary", rng.randbytes(rng.randrange(0, 4096)))
    if roll < 0.82:
        return Frame("binary json", json.dumps({"question": "Who leads?"}).encode())
    if roll < 0.87:
        return Frame("empty", rng.choice(["", b""]))
    if roll < 0.92:
        return Frame("deeply nested", nested(rng))
    if roll < 0.97:
        pieces = json.dumps(random_json(rng))
        cut = rng.randrange(0, len(pieces) + 1)
        return Frame("fragmented", [pieces[:cut], pieces[cut:], ""])
    if roll < 0.985:
        return Frame("invalid utf-8", rng.choice(BAD_UTF8), text=True, closes_with=NOT_UTF8)
    if roll < 0.993:
        size = MAX_FRAME + rng.randrange(1, MAX_FRAME)
        payload = rng.choice(["x" * size, b"\x00" * size])
        return Frame("huge", payload, closes_with=TOO_BIG)
    chunk = "y" * (MAX_FRAME // 2)
    return Frame("huge fragmented", [chunk, chunk, chunk], closes_with=TOO_BIG)


@dataclass(frozen=True)
class Target:
    """One routed socket: its route, the path to open for a poll, and whether it needs a
    signed-in user."""

    name: str
    route: str
    path: Callable[[object], str]
    signed_in: bool


TARGETS = [
    Target("poll tally", "ws/poll/<str:code>/", lambda poll: f"/ws/poll/{poll.code}/", False),
    Target("ask", "ws/poll/<str:code>/ask/", lambda poll: f"/ws/poll/{poll.code}/ask/", False),
    Target("notification bell", "ws/notifications/", lambda poll: "/ws/notifications/", True),
    Target("my polls", "ws/my/", lambda poll: "/ws/my/", True),
]


@dataclass
class Listener:
    """A socket whose frames are read as they come, as a page would."""

    sock: websockets.ClientConnection
    frames: list[str | bytes] = field(default_factory=list)
    reader: asyncio.Task | None = None

    def start(self) -> "Listener":
        self.reader = asyncio.create_task(self.read())
        return self

    async def read(self) -> None:
        try:
            async for frame in self.sock:
                self.frames.append(frame)
        except ConnectionClosed:
            pass

    async def wait_for(self, predicate, deadline: float = DEADLINE) -> bool:
        """Wait until a frame received from now on satisfies predicate."""
        seen = len(self.frames)
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if any(predicate(frame) for frame in self.frames[seen:]):
                return True
            if self.reader.done():
                return False
            await asyncio.sleep(0.05)
        return False

    @property
    def open(self) -> bool:
        return self.sock.close_code is None and not self.reader.done()

    async def close(self) -> None:
        await self.sock.close()
        await self.reader


@dataclass
class Fuzzed:
    """What the fuzz did: frames sent by kind, and how the server closed sockets."""

    sent: Counter = field(default_factory=Counter)
    expected_closes: Counter = field(default_factory=Counter)
    crashes: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    """One daphne process for every socket, answering questions with the local answer."""
    with run_daphne(log_dir=tmp_path_factory.mktemp("ws-fuzz"), env={"GROQ_API_KEY": ""}) as live:
        yield live


@pytest.fixture(autouse=True)
def no_test_process_embedding(monkeypatch):
    """The server embeds the poll when it is first asked; the test process need not."""
    monkeypatch.setattr(chat_tasks, "queue_poll_embedding", lambda poll_id: None)


def ws_url(server, path: str) -> str:
    return server.url.replace("http://", "ws://") + path


async def open_listener(server, path: str, cookie: str) -> Listener:
    sock = await websockets.connect(
        ws_url(server, path),
        origin="http://127.0.0.1",
        additional_headers={"Cookie": cookie} if cookie else None,
        open_timeout=DEADLINE,
        close_timeout=5,
        ping_interval=None,
        max_size=None,
    )
    return Listener(sock).start()


def make_owned_poll():
    """A poll owned by a new user, and that user's session cookie."""
    owner = UserFactory()
    poll = PollFactory(owner=owner)
    poll.first_option_id = poll.options.first().id
    return poll, f"sessionid={session_id(owner)}"


async def fuzz(server, path: str, cookie: str, rng: random.Random) -> tuple[Fuzzed, Listener]:
    """Send FRAMES frames on one socket, reopening it whenever the server rightly closed it;
    return what happened and the socket as the fuzz left it."""
    result = Fuzzed()
    target = await open_listener(server, path, cookie)
    recent: list[str] = []
    for _ in range(FRAMES):
        frame = make_frame(rng)
        recent = [*recent[-4:], frame.kind]
        if not target.open:
            await target.close()
            target = await open_listener(server, path, cookie)
        with contextlib.suppress(ConnectionClosed):  # seen below, by its close code
            await target.sock.send(frame.payload, text=frame.text)
        result.sent[frame.kind] += 1
        if frame.closes_with is None:
            if target.sock.close_code is not None:
                result.crashes.append(f"closed with {target.sock.close_code} after {recent}")
            continue
        try:
            await asyncio.wait_for(target.sock.wait_closed(), timeout=DEADLINE)
        except TimeoutError:
            result.crashes.append(f"{frame.kind} frame did not close the socket")
            continue
        if target.sock.close_code in (frame.closes_with, DROPPED):
            result.expected_closes[f"{frame.kind}: {target.sock.close_code}"] += 1
        else:
            result.crashes.append(
                f"{frame.kind} frame closed the socket with {target.sock.close_code}"
            )
    return result, target


async def push_arrives(target: Target, server, poll, listeners: list[Listener]) -> list[bool]:
    """Make the event this socket exists for happen; return whether each listener saw it."""
    if target.name == "ask":
        question = json.dumps({"question": "Which option leads?"})
        await asyncio.gather(*(listener.sock.send(question) for listener in listeners))
        return list(await asyncio.gather(*(lis.wait_for(ANSWERED.search) for lis in listeners)))
    predicate = {
        "poll tally": lambda frame: shown_total(frame) == 1,
        "notification bell": lambda frame: (m := UNREAD.search(frame)) and m.group(1) == "1",
        "my polls": lambda frame: re.search(rf'id="my-count-{poll.code}"[^>]*>1<', frame),
    }[target.name]
    waits = [asyncio.create_task(listener.wait_for(predicate)) for listener in listeners]
    await asyncio.sleep(0)  # each wait counts frames from before the vote
    assert await cast_votes(server, poll, 1) == [201]
    return list(await asyncio.gather(*waits))


def server_errors(server, offset: int) -> list[str]:
    text = server.log_path.read_text(errors="replace")[offset:]
    return [line for line in text.splitlines() if SERVER_ERRORS.search(line)]


@pytest.mark.parametrize("target", TARGETS, ids=lambda target: target.name)
async def test_socket_dropped_while_busy_leaves_no_error(target, server):
    """A socket that daphne drops (its frame is not UTF-8) while its consumer is still
    sending to it is let go quietly, and the next one opens as usual."""
    poll, session = await sync_to_async(make_owned_poll)()
    cookie = session if target.signed_in else ""
    log_offset = len(server.log_path.read_text(errors="replace"))
    for _ in range(DROPS):
        listener = await open_listener(server, target.path(poll), cookie)
        with contextlib.suppress(ConnectionClosed):
            for _ in range(20):
                await listener.sock.send("{}")
            await listener.sock.send(b"\xff", text=True)
        await listener.reader
        assert listener.sock.close_code in (NOT_UTF8, DROPPED)
    await asyncio.sleep(0.5)
    assert server_errors(server, log_offset) == []
    listener = await open_listener(server, target.path(poll), cookie)
    assert listener.open
    await listener.close()


@pytest.mark.parametrize("question", ["Who\ud800 leads?", "\udfff", "Who\u0000 leads?"])
def test_a_question_that_is_not_text_is_refused(question):
    """A lone surrogate or a NUL, which JSON can carry, is refused like any bad question."""
    frame = json.dumps({"question": question})
    assert AskConsumer.parse(frame) == (
        "",
        "Your question has characters that are not text: type it again.",
    )


def test_every_routed_socket_is_fuzzed():
    """A socket added to the routing is fuzzed too: the targets are exactly the routes."""
    routes = {str(pattern.pattern) for pattern in websocket_urlpatterns}
    assert routes == {target.route for target in TARGETS}


@pytest.mark.parametrize("target", TARGETS, ids=lambda target: target.name)
async def test_random_frames_break_nothing(target, server, capsys):
    """Thousands of malformed frames on one socket crash neither the server nor any
    consumer, and a healthy socket beside it still gets its push."""
    poll, session = await sync_to_async(make_owned_poll)()
    cookie = session if target.signed_in else ""
    path = target.path(poll)
    rng = random.Random(f"{SEED}:{target.name}")
    log_offset = len(server.log_path.read_text(errors="replace"))

    healthy = await open_listener(server, path, cookie)
    if target.name == "ask":
        # The first question on a fresh server loads the embedding model, which holds up
        # the database thread every socket's handshake waits for: load it before the fuzz.
        assert await push_arrives(target, server, poll, [healthy]) == [True]
    result, fuzzed = await fuzz(server, path, cookie, rng)
    listeners = [healthy] + ([fuzzed] if fuzzed.open else [])
    arrived = await push_arrives(target, server, poll, listeners)
    healthy_open = healthy.open
    for listener in listeners:
        await listener.close()
    await asyncio.sleep(0.5)  # a consumer's disconnect runs after the close
    errors = server_errors(server, log_offset)
    alive = server.process.poll() is None

    crashes = len(result.crashes) + len(errors) + (not alive)
    with capsys.disabled():
        print(
            f"\n[ws fuzz] seed {SEED} (WS_FUZZ_SEED={SEED} replays), {target.name}: "
            f"frames {dict(result.sent)}, closes {dict(result.expected_closes)}"
        )
        print(
            f"[ws fuzz] {target.name}: {sum(result.sent.values())} frames, {crashes} crashes, "
            f"healthy socket {'got' if arrived[0] else 'did not get'} the push"
        )
    assert alive, server.log_tail()
    assert not errors, "\n".join(errors[:40])
    assert result.crashes == []
    assert sum(result.sent.values()) == FRAMES
    assert result.expected_closes, "no frame tested the server's limits"
    assert healthy_open
    assert arrived == [True] * len(listeners), f"push seen by (healthy, fuzzed): {arrived}"
