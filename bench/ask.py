"""Ask-this-poll latency: the server's own share of the time to an answer.

    .venv/bin/python bench/ask.py [--questions 50] [--token-delay 0.02]

Runs in one process: a fresh SQLite database in a temporary folder (or --database-url),
a poll with 40 commented votes and its snippets embedded by the real model, the local
Groq stub from tests/chat/groq_stub.py, and the ask consumer driven through Channels'
WebsocketCommunicator (the ASGI application with its Origin check and auth stack). After
three warm-up questions (the first loads the embedding model) it asks --questions
questions one after another and reports p50/p95/max of:

- server: the question's arrival in the consumer -> the upstream HTTP request is sent
  (embedding the question, retrieval, tally, prompt, Groq client) — httpx's request hook;
- server: the first token parsed from the upstream stream -> its frame handed to the socket;
- outside view: frame sent -> the stub receives the request, and the stub writes the first
  token -> the communicator receives the first answer fragment;
- the local answer (no GROQ_API_KEY): arrival -> first answer fragment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "Why do people prefer tea?",
    "What do voters say about the price?",
    "Is coffee winning?",
    "What do people dislike about juice?",
    "Which option is the healthiest according to the comments?",
    "Why did anyone pick water?",
    "How many people voted?",
    "What is the most common reason given?",
]
COMMENTS = [
    ("Tea", "Tea is calm and gentle in the morning."),
    ("Coffee", "Coffee wakes me up, nothing else does."),
    ("Coffee", "Too expensive at the cafe, but worth it."),
    ("Juice", "Juice is too sugary for me most days."),
    ("Water", "Water is the healthiest, plain and simple."),
    ("Tea", "Green tea has less caffeine than coffee."),
    ("Tea", "I like the ritual of making a pot."),
    ("Coffee", "The smell of coffee beats everything."),
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def row(name: str, values: list[float]) -> str:
    ms = [value * 1000 for value in values]
    return (
        f"{name:<58} p50 {statistics.median(ms):7.1f} ms   p95 {percentile(ms, 0.95):7.1f} ms"
        f"   max {max(ms):7.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--token-delay", type=float, default=0.02)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    folder = tempfile.TemporaryDirectory(prefix="tally-ask-bench-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{folder.name}/bench.sqlite3"
    os.environ["DEBUG"] = "false"
    os.environ["RATELIMIT_ENABLE"] = "false"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["GROQ_API_KEY"] = "bench"
    os.environ.pop("REDIS_URL", None)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from tests.chat.groq_stub import Behaviour, GroqStub

    settings.EMBED_IN_BACKGROUND = False
    call_command("migrate", verbosity=0)
    stub = GroqStub().start()
    settings.GROQ_BASE_URL = stub.url
    settings.GROQ_MAX_RETRIES = 0
    stub.behaviour = Behaviour(
        tokens=[f" token{i}" for i in range(20)], token_delay=args.token_delay
    )
    try:
        return asyncio.run(run(args, settings, stub))
    finally:
        stub.stop()
        folder.cleanup()


async def run(args, settings, stub) -> int:
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator

    from chat.ask import pipeline, retrieval
    from chat.services import poll_snippets_sync
    from config.asgi import application
    from core.voters import Voter, new_voter_token
    from polls import services

    def make_poll():
        poll = services.poll_create(
            question="What do you drink in the morning?",
            description="Breakfast survey.",
            options=["Tea", "Coffee", "Juice", "Water"],
        )
        ids = {option.text: option.id for option in poll.options.all()}
        for index in range(40):
            text, comment = COMMENTS[index % len(COMMENTS)]
            services.vote_cast(
                poll=poll,
                voter=Voter(token=new_voter_token(), ip=""),
                option_ids=[ids[text]],
                comment=f"{comment} ({index})",
            )
        poll_snippets_sync(poll_id=poll.pk)
        return poll

    poll = await database_sync_to_async(make_poll)()

    captured: list[pipeline.Timings] = []
    original = pipeline.answer_question

    async def recording(**kwargs):
        captured.append(kwargs["timings"])
        return await original(**kwargs)

    pipeline.answer_question = recording
    communicator = WebsocketCommunicator(
        application,
        f"/ws/poll/{poll.code}/ask/",
        headers=[(b"origin", b"http://localhost"), (b"cookie", b"tally_voter=" + b"b" * 43)],
    )
    connected, _ = await communicator.connect()
    assert connected

    async def ask(question: str) -> tuple[float, float]:
        """Return (time the frame was sent, time the first answer fragment arrived)."""
        sent = time.monotonic()
        await communicator.send_to(text_data=json.dumps({"question": question}))
        first = 0.0
        while True:
            frame = await communicator.receive_from(timeout=60)
            if not first and "beforeend:#answer-body" in frame:
                first = time.monotonic()
            if 'data-state="answered"' in frame or 'data-state="failed"' in frame:
                assert 'data-state="answered"' in frame, frame
                return sent, first

    for question in QUESTIONS[:3]:
        await ask(question)
    captured.clear()
    stub.requests.clear()

    outside_request, outside_token = [], []
    for index in range(args.questions):
        sent, first = await ask(QUESTIONS[index % len(QUESTIONS)])
        seen = stub.requests[-1]
        outside_request.append(seen.received_at - sent)
        outside_token.append(first - seen.first_token_at)
    to_request = [t.upstream_request - t.arrived for t in captured]
    to_frame = [t.first_frame - t.first_token for t in captured]
    together = [a + b for a, b in zip(to_request, to_frame, strict=True)]

    settings.GROQ_API_KEY = ""
    local = []
    captured.clear()
    for index in range(args.questions):
        sent, first = await ask(QUESTIONS[index % len(QUESTIONS)])
        local.append(captured[-1].first_frame - captured[-1].arrived)
    await communicator.disconnect()

    embed_times = []
    for question in QUESTIONS * 3:
        started = time.monotonic()
        await asyncio.to_thread(retrieval.embed_question, question)
        embed_times.append(time.monotonic() - started)

    print(
        f"{args.questions} questions, poll with 40 comments, stub token delay {args.token_delay}s"
    )
    print(row("server: question arrival -> upstream request", to_request))
    print(row("server: first upstream token -> first frame sent", to_frame))
    print(row("server: the two together (target < 50 ms)", together))
    print(row("outside: frame sent -> stub receives the request", outside_request))
    print(row("outside: stub writes first token -> first fragment", outside_token))
    print(row("local answer (no key): arrival -> first fragment", local))
    print(row("embedding one question (part of the first line)", embed_times))
    return 0 if percentile(together, 0.95) < 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
