"""Asking through the API: the socket's pipeline as server-sent events, from the real groq
client talking to the local stub; a client that hangs up cancels the upstream request."""

import asyncio
import json
import time

import pytest

from config.asgi import application
from core.voters import new_voter_token
from polls.models import Poll
from tests.chat.groq_stub import Behaviour
from tests.chat.test_ask import COMMENTED, DEADLINE, closed_within, make_poll

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _embed_in_caller(settings):
    settings.EMBED_IN_BACKGROUND = False


class Stream:
    """One HTTP request to the ASGI app, read as it streams; hang_up() disconnects."""

    def __init__(self, path: str, body: dict, headers: dict):
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                (b"content-type", b"application/json"),
                *((name.lower().encode(), value.encode()) for name, value in headers.items()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        self.body = json.dumps(body).encode()
        self.hung_up = asyncio.Event()
        self.messages: asyncio.Queue = asyncio.Queue()
        self.sent_body = False
        self.status = None
        self.headers: dict[str, str] = {}
        self.text = ""

    async def receive(self):
        if not self.sent_body:
            self.sent_body = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self.hung_up.wait()
        return {"type": "http.disconnect"}

    async def send(self, message):
        await self.messages.put(message)

    def start(self):
        self.task = asyncio.create_task(application(self.scope, self.receive, self.send))
        return self

    async def read_until(self, predicate, deadline=DEADLINE) -> str:
        """Read the answer until predicate(text so far) holds (or the response ends)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        while not predicate(self.text):
            message = await asyncio.wait_for(self.messages.get(), max(0.01, end - loop.time()))
            if message["type"] == "http.response.start":
                self.status = message["status"]
                self.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
            elif message["type"] == "http.response.body":
                self.text += message.get("body", b"").decode()
                if not message.get("more_body"):
                    break
        return self.text

    async def finish(self, deadline=DEADLINE) -> str:
        return await self.read_until(lambda _: False, deadline)

    async def hang_up(self):
        self.hung_up.set()
        await asyncio.wait_for(self.task, 10)


def events(text: str) -> list[tuple[str, object]]:
    parsed = []
    for block in text.strip().split("\n\n"):
        if not block:
            continue
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((lines["event"], json.loads(lines["data"])))
    return parsed


def ask(poll, question: str, **headers) -> Stream:
    headers = {"X-Voter-Token": new_voter_token(), **headers}
    return Stream(f"/api/v1/polls/{poll.code}/ask", {"question": question}, headers).start()


async def test_answer_streams_chunks_then_sources_then_done(groq):
    """The model's tokens arrive as chunk events in order, then the sources and done."""
    tokens = ["Blue", " leads", " because", " it", " is", " calm", "."]
    groq.behaviour = Behaviour(tokens=tokens, token_delay=0.01)
    poll = await make_poll(votes=COMMENTED)
    stream = ask(poll, "Why do people like blue?")
    text = await stream.finish()
    await stream.hang_up()
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.headers["cache-control"] == "no-cache"
    assert int(stream.headers["ratelimit-remaining"]) >= 0
    received = events(text)
    names = [name for name, _ in received]
    assert names[-2:] == ["sources", "done"]
    assert set(names[:-2]) == {"chunk"}
    assert "".join(data["text"] for name, data in received if name == "chunk") == "".join(tokens)
    sources = dict(received)["sources"]
    texts = {source["text"] for source in sources}
    assert "Blue is calm and easy on the eyes." in texts
    assert all(set(source) == {"text", "option"} for source in sources)
    done = dict(received)["done"]
    assert done["ai"] is True
    assert "4 votes in total" in done["tally"]
    assert "Why do people like blue?" in groq.prompt()


async def test_sources_name_the_option_their_author_chose_unless_results_are_hidden(
    no_groq_key,
):
    """Each quoted comment says which option its author chose; where this asker may not
    see results yet, the option is left out so the quote does not give the vote away."""
    open_poll = await make_poll(votes=COMMENTED)
    hidden = await make_poll(votes=COMMENTED, results_visibility=Poll.ResultsVisibility.AFTER_CLOSE)
    for poll, expected in ((open_poll, "Blue"), (hidden, None)):
        stream = ask(poll, "Why blue?")
        received = events(await stream.finish())
        await stream.hang_up()
        sources = {source["text"]: source["option"] for source in dict(received)["sources"]}
        assert sources["Blue is calm and easy on the eyes."] == expected
        if expected:
            assert sources["Red feels energetic."] == "Red"


async def test_provider_failure_ends_with_an_error_event(groq):
    """When the AI provider fails, the stream ends with an error event in the error body."""
    groq.behaviour = Behaviour(status=500)
    poll = await make_poll()
    stream = ask(poll, "Anything?")
    received = events(await stream.finish())
    await stream.hang_up()
    name, data = received[-1]
    assert name == "error"
    assert set(data["error"]) == {"code", "message"}
    assert data["error"]["message"]


async def test_hanging_up_cancels_the_upstream_request(groq):
    """A client that disconnects mid-answer closes the provider's stream within a second
    or so: the pipeline task is cancelled, not left generating."""
    groq.behaviour = Behaviour(endless=True, token_delay=0.05)
    poll = await make_poll()
    stream = ask(poll, "Tell me everything")
    await stream.read_until(lambda text: text.count("event: chunk") >= 2)
    left = time.monotonic()
    await stream.hang_up()
    assert await closed_within(groq.last, 5) - left < 1.5


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [({"question": "  "}, 400, "question"), ({"question": "x" * 501}, 400, "question")],
)
async def test_bad_questions_are_refused_with_the_error_body(body, status, field, no_groq_key):
    """An empty or overlong question is refused before any answer starts."""
    poll = await make_poll()
    stream = Stream(f"/api/v1/polls/{poll.code}/ask", body, {}).start()
    text = await stream.finish()
    await stream.hang_up()
    assert stream.status == status
    assert json.loads(text)["error"]["field"] == field


async def test_asking_too_often_is_refused_with_429(settings, no_groq_key):
    """Questions over the per-voter limit get 429 with Retry-After, as on the socket."""
    settings.RATELIMITS = {**settings.RATELIMITS, "ask-voter": "1/m"}
    poll = await make_poll()
    token = new_voter_token()
    first = ask(poll, "One?", **{"X-Voter-Token": token})
    await first.finish()
    await first.hang_up()
    second = ask(poll, "Two?", **{"X-Voter-Token": token})
    text = await second.finish()
    await second.hang_up()
    assert second.status == 429
    assert json.loads(text)["error"]["code"] == "rate_limited"
    assert int(second.headers["retry-after"]) >= 1


async def test_unknown_poll_is_404(no_groq_key, db):
    """Asking a poll that does not exist gets 404 and the error body."""
    stream = Stream("/api/v1/polls/nosuchpoll/ask", {"question": "Hi?"}, {}).start()
    text = await stream.finish()
    await stream.hang_up()
    assert stream.status == 404
    assert json.loads(text)["error"]["code"] == "not_found"


@pytest.fixture
def no_groq_key(settings):
    settings.GROQ_API_KEY = ""
