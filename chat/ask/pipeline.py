"""One answer from question to finished state: the fragments it sends, what it times, and the
order of the work. Embedding the question and reading the poll run side by side; the model's
tokens (or the local answer's pieces) go out batched as chunk fragments, and the answer
always ends with a finish fragment carrying any error, the sources and the tally line.
A model's answer is checked once it has streamed (chat.ask.check); where the check had to
correct it, the finish fragment replaces the streamed text with the checked one, marked
"corrected"."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.template.loader import render_to_string

from chat.ask.check import check_answer
from chat.ask.llm import Timings, groq_tokens, provider_message
from chat.ask.prompt import build_messages
from chat.ask.retrieval import embed_question, poll_facts, rank, with_sources
from chat.ask.wording import local_answer, tally_line
from core.db import in_worker_thread
from core.voters import Voter

logger = logging.getLogger(__name__)

BATCH_INTERVAL = 0.04  # seconds between appended fragments while tokens stream in
FRAGMENTS = "chat/answer.html"

Send = Callable[[Any], Awaitable[None]]


def render_fragment(name: str, **context) -> str:
    return render_to_string(f"{FRAGMENTS}#{name}", context)


async def _words(pieces: list[str]) -> AsyncIterator[str]:
    for piece in pieces:
        yield piece


async def stream_batched(tokens: AsyncIterator[str], send_text: Send, timings: Timings) -> int:
    """Send the first token at once, then what arrived in each BATCH_INTERVAL together.

    Returns the number of fragments sent. A pause upstream does not hold back text
    already received: the pending batch goes out when its interval is up.
    """
    loop = asyncio.get_running_loop()
    iterator = tokens.__aiter__()
    pending: list[str] = []
    sent = 0
    last_sent = 0.0
    waiting: asyncio.Future | None = None

    async def flush():
        nonlocal sent, last_sent
        text = "".join(pending)
        pending.clear()
        await send_text(text)
        if not sent:
            timings.first_frame = time.monotonic()
        sent += 1
        last_sent = loop.time()

    try:
        while True:
            if waiting is None:
                waiting = asyncio.ensure_future(iterator.__anext__())
            timeout = max(0.0, last_sent + BATCH_INTERVAL - loop.time()) if pending else None
            done, _ = await asyncio.wait({waiting}, timeout=timeout)
            if not done:
                await flush()
                continue
            arrived, waiting = waiting, None
            try:
                token = arrived.result()
            except StopAsyncIteration:
                break
            if not timings.first_token:
                timings.first_token = time.monotonic()
            pending.append(token)
            if loop.time() - last_sent >= BATCH_INTERVAL:
                await flush()
    finally:
        if waiting is not None:
            waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)
        if hasattr(iterator, "aclose"):
            await iterator.aclose()
    if pending:
        await flush()
    return sent


async def answer_question(
    *,
    send: Send,
    poll_id: int,
    voter: Voter,
    question: str,
    timings: Timings | None = None,
    render: Callable[..., Any] = render_fragment,
) -> None:
    """Stream an answer to question about the poll to send, from start to finished state.

    Each step is render(fragment name, **its context), HTML fragments by default; the JSON
    API passes a renderer that turns them into server-sent events instead.
    """
    timings = timings or Timings(arrived=time.monotonic())
    await send(render("start", question=question))
    try:
        # Embedding (CPU) and reading the poll (database) overlap. Both run in worker
        # threads: a poll not embedded yet is embedded while its facts are read, and that
        # must not hold the thread every socket's database work queues on.
        vector, found = await asyncio.gather(
            sync_to_async(embed_question, thread_sensitive=False)(question),
            in_worker_thread(poll_facts, poll_id=poll_id, voter=voter, question=question),
        )
        facts = (
            None
            if found is None
            else with_sources(found[0], rank(found[1], vector, found[0].lexical), question)
        )
    except Exception:
        logger.exception("Could not gather the facts to answer a question on poll %s", poll_id)
        facts = None
        message = "Could not look through this poll just now. Try again in a moment."
    else:
        message = "This poll no longer exists."
    if facts is None:
        await send(render("failed", message=message))
        return

    streamed: list[str] = []

    async def send_text(text: str) -> None:
        streamed.append(text)
        await send(render("chunk", text=text))

    ai = bool(settings.GROQ_API_KEY)
    error_message = ""
    sent = 0
    if ai:
        tokens = groq_tokens(build_messages(facts=facts, question=question), timings)
    else:
        tokens = _words(local_answer(facts, question))
    try:
        async with asyncio.timeout(settings.GROQ_ANSWER_TIMEOUT):
            sent = await stream_batched(tokens, send_text, timings)
    except asyncio.CancelledError:
        raise
    except Exception as error:
        logger.warning("Answer for poll %s failed: %r", poll_id, error)
        error_message = provider_message(error, started=bool(timings.first_frame))
    if not error_message and not sent:
        error_message = "The AI service sent an empty answer. Try asking in other words."
    corrected_text = ""
    if ai and not error_message:
        checked = check_answer("".join(streamed), facts, question)
        if checked.corrected:
            corrected_text = checked.text or "The answer did not hold up against the poll's data."
    await send(
        render(
            "finish",
            error=error_message,
            ai=ai,
            corrected_text=corrected_text,
            comments=facts.comments,
            tally_line=tally_line(facts),
        )
    )
    logger.debug(
        "Answer timings for poll %s: request %.1f ms after arrival, first frame %.1f ms "
        "after first token",
        poll_id,
        (timings.upstream_request - timings.arrived) * 1000 if timings.upstream_request else -1,
        (timings.first_frame - timings.first_token) * 1000 if timings.first_token else -1,
    )
