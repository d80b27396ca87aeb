"""Asking a poll through the JSON API: the socket's answer pipeline, as server-sent events.

The events: `chunk` ({"text": ...}, plain text, in order), then `sources` (the comments the
answer drew on: [{"text": ..., "option": ...}]), then `done` ({"tally": ..., "ai": ...}) or
`error` (the error body). A client that hangs up cancels the answer, which closes the
request to the AI provider.
"""

import asyncio
import contextlib
import json
import logging

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.http import StreamingHttpResponse
from ninja import Router, Schema

from chat import services
from chat.ask import pipeline
from chat.consumers import AskConsumer
from core.http import Refused, add_ratelimit_headers, note_ratelimit
from core.ratelimit import ratelimit_hit
from core.voters import voter_from_request
from polls.api import CODE_PATTERN, ErrorBody, refusals
from polls.visibility import viewable_poll

logger = logging.getLogger(__name__)

router = Router(tags=["ask"])

EVENT_STREAM_DOC = {
    "responses": {
        200: {
            "description": "Server-sent events: `chunk`…, `sources`, then `done` or `error`.",
            "content": {
                "text/event-stream": {
                    # Each event's data: a JSON object (chunk, done, error) or, for
                    # sources, a JSON array.
                    "schema": {"anyOf": [{"type": "object"}, {"type": "array"}]},
                    "example": 'event: chunk\ndata: {"text": "Blue leads"}\n\n'
                    'event: sources\ndata: [{"text": "Calm.", "option": "Blue"}]\n\n'
                    'event: done\ndata: {"tally": "Blue 2 (66.7%)", "ai": true}\n\n',
                }
            },
        }
    }
}


class AskIn(Schema):
    question: str


def sse(event: str, data) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def events_of(name: str, context: dict) -> list[str]:
    """The events for one step of the pipeline (it renders these steps as fragments for
    the socket; here each becomes its event)."""
    if name == "chunk":
        return [sse("chunk", {"text": context["text"]})]
    if name == "failed":
        return [sse("error", {"error": {"code": "unavailable", "message": context["message"]}})]
    if name == "finish":
        sources = [
            {"text": source.text, "option": ", ".join(source.options) or None}
            for source in context["comments"]
        ]
        end = (
            sse("error", {"error": {"code": "answer_failed", "message": context["error"]}})
            if context["error"]
            else sse("done", {"tally": context["tally_line"], "ai": context["ai"]})
        )
        corrected = (
            [sse("corrected", {"text": context["corrected_text"]})]
            if context.get("corrected_text")
            else []
        )
        return [*corrected, sse("sources", sources), end]
    return []  # "start": the question is the client's own


async def answer_events(*, poll_id: int, voter, question: str):
    """Run the pipeline as a task and yield its events; stopping early cancels the task."""
    queue: asyncio.Queue = asyncio.Queue()
    task = asyncio.create_task(
        pipeline.answer_question(
            send=queue.put,
            poll_id=poll_id,
            voter=voter,
            question=question,
            render=lambda name, **context: (name, context),
        )
    )
    task.add_done_callback(lambda _: queue.put_nowait(None))
    try:
        while (step := await queue.get()) is not None:
            for event in events_of(*step):
                yield event
        if not task.cancelled() and task.exception() is not None:
            logger.error("An answer failed", exc_info=task.exception())
            message = "Could not answer just now. Try again in a moment."
            yield sse("error", {"error": {"code": "answer_failed", "message": message}})
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@router.post(
    "/polls/{code}/ask",
    response={200: None, **refusals(429)},
    summary="Ask this poll",
    openapi_extra=EVENT_STREAM_DOC,
)
async def ask(request, code: str, payload: AskIn):
    """Ask the poll a question in plain language; the answer streams as server-sent events,
    grounded in the poll's text, comments and the tally as you may see it."""
    question, problem = AskConsumer.parse(json.dumps({"question": payload.question}))
    if problem:
        raise Refused(400, "invalid", problem, "question")
    voter = await sync_to_async(voter_from_request)(request)
    poll = None
    if CODE_PATTERN.match(code):
        poll = await database_sync_to_async(viewable_poll)(code=code, voter=voter)
    if poll is None:
        raise Refused(
            404, "not_found", "There is no poll with this code; it may have been deleted."
        )
    poll_id = poll.pk
    state = await sync_to_async(ratelimit_hit, thread_sensitive=False)(
        scope="ask-voter", ident=voter.rate_key
    )
    note_ratelimit(request, state)
    try:
        await database_sync_to_async(services.question_record)(
            poll_id=poll_id, question=question, asker_id=voter.user_id
        )
    except Exception:  # the owner's notice must not stop the answer
        logger.exception("Could not record a question")
    response = StreamingHttpResponse(
        answer_events(poll_id=poll_id, voter=voter, question=question),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return add_ratelimit_headers(response, request)


__all__ = ["ErrorBody", "router"]
