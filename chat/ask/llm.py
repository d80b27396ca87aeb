"""The Groq side of an answer: a client per answer over one shared TLS context, the model's
text as a token stream, the one rule for retrying (up to GROQ_MAX_RETRIES more tries, only
before the stream starts, and only after a lost connection or a server error), and each
provider failure said in words for the reader. A stream that stops without a finish reason
counts as a failure."""

import asyncio
import functools
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import groq
import httpx
from django.conf import settings

RETRY_DELAY = 0.25


@dataclass
class Timings:
    """Monotonic timestamps of one answer, for the benchmark and the debug log."""

    arrived: float = 0.0
    upstream_request: float = 0.0
    first_token: float = 0.0
    first_frame: float = 0.0


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context per process: building one costs more than the rest of a client."""
    return httpx.create_ssl_context()


def groq_client(timings: Timings) -> groq.AsyncGroq:
    """A client for one answer; it notes when its first request leaves."""

    async def on_request(request: httpx.Request) -> None:
        if not timings.upstream_request:
            timings.upstream_request = time.monotonic()

    timeout = httpx.Timeout(
        settings.GROQ_READ_TIMEOUT, connect=settings.GROQ_CONNECT_TIMEOUT, pool=5.0
    )
    http_client = httpx.AsyncClient(
        verify=_ssl_context(), timeout=timeout, event_hooks={"request": [on_request]}
    )
    return groq.AsyncGroq(
        api_key=settings.GROQ_API_KEY,
        base_url=settings.GROQ_BASE_URL or None,
        max_retries=0,  # retried here, and only before the first token
        timeout=timeout,
        http_client=http_client,
    )


def provider_message(error: BaseException, *, started: bool) -> str:
    cut = "The answer stopped early: " if started else ""
    if isinstance(error, groq.RateLimitError):
        return cut + "the AI service is receiving too many questions. Try again in a minute."
    if isinstance(error, groq.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return cut + "the AI service took too long to answer. Try again in a moment."
    if isinstance(error, groq.APIStatusError):
        if error.status_code >= 500:
            return cut + f"the AI service had a problem (error {error.status_code}). Try again."
        return cut + f"the AI service refused the question (error {error.status_code})."
    if isinstance(error, groq.APIConnectionError | httpx.TransportError):
        if started:
            return cut + "the connection to the AI service was lost."
        return "Could not reach the AI service. Try again in a moment."
    return cut + "something went wrong while answering."


def _retryable(error: BaseException) -> bool:
    if isinstance(error, groq.APITimeoutError):
        return False  # waiting twice as long is worse than saying so
    if isinstance(error, groq.APIStatusError):
        return error.status_code >= 500
    return isinstance(error, groq.APIConnectionError)


async def groq_tokens(messages: list[dict], timings: Timings) -> AsyncIterator[str]:
    """Yield the model's text as it streams; raise on any failure, including a cut stream."""
    attempts = 1 + max(0, settings.GROQ_MAX_RETRIES)
    async with groq_client(timings) as client:
        for attempt in range(1, attempts + 1):
            try:
                stream = await client.chat.completions.create(
                    model=settings.GROQ_MODEL,
                    messages=messages,
                    stream=True,
                    temperature=0.2,
                    max_tokens=400,
                )
            except Exception as error:
                if attempt < attempts and _retryable(error):
                    await asyncio.sleep(RETRY_DELAY * attempt)
                    continue
                raise
            break
        async with stream:
            finished = False
            async for chunk in stream:
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                if choice.delta and choice.delta.content:
                    yield choice.delta.content
                if choice.finish_reason:
                    finished = True
            if not finished:
                raise httpx.RemoteProtocolError("The stream ended before the answer did.")
