"""The "ask this poll" socket: a question in, a streamed answer out."""

import asyncio
import contextlib
import json
import logging
import re
import time

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from chat import services
from chat.ask import pipeline
from core.consumers import SocketConsumer
from core.ratelimit import RateLimited, ratelimit_hit
from core.voters import Voter, voter_from_scope
from polls.visibility import viewable_poll

logger = logging.getLogger(__name__)

QUESTION_MAX_LENGTH = 500
# JSON may carry lone surrogates ("\ud800"), which cannot be encoded to embed, store or send
# back, and NULs, which PostgreSQL cannot store.
NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


class AskConsumer(SocketConsumer):
    """Validates questions and runs each answer as its own task, one at a time per socket."""

    poll_id: int | None = None
    voter: Voter | None = None
    answer: asyncio.Task | None = None
    recording: set[asyncio.Task]

    async def connect(self):
        code = self.scope["url_route"]["kwargs"]["code"]
        self.voter = voter_from_scope(self.scope)
        user = self.scope.get("user")
        is_staff = bool(user is not None and user.is_authenticated and user.is_staff)
        poll = await database_sync_to_async(viewable_poll)(
            code=code, voter=self.voter, is_staff=is_staff
        )
        if poll is None:
            await self.close()  # before accept: the handshake is refused
            return
        self.poll_id = poll.pk
        self.recording = set()
        await self.accept()

    async def disconnect(self, code):
        # Cancelling the task closes the upstream stream: the provider stops generating.
        await self.stop_answer()

    async def receive(self, text_data=None, bytes_data=None):
        arrived = time.monotonic()
        question, problem = self.parse(text_data)
        if problem:
            await self.refuse("invalid", problem)
            return
        refusal = await sync_to_async(self.over_limit, thread_sensitive=False)()
        if refusal:
            await self.refuse("rate_limited", refusal)
            return
        await self.stop_answer()
        self.record_question(question)
        self.answer = asyncio.create_task(
            pipeline.answer_question(
                send=self.send_html,
                poll_id=self.poll_id,
                voter=self.voter,
                question=question,
                timings=pipeline.Timings(arrived=arrived),
            )
        )

    def record_question(self, question: str) -> None:
        """Record the question (its owner hears of it) beside the answer, not before it."""
        task = asyncio.create_task(
            database_sync_to_async(services.question_record)(
                poll_id=self.poll_id, question=question, asker_id=self.voter.user_id
            )
        )
        self.recording.add(task)
        task.add_done_callback(self.recorded)

    def recorded(self, task: asyncio.Task) -> None:
        self.recording.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("Could not record a question", exc_info=task.exception())

    async def stop_answer(self):
        task, self.answer = self.answer, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def over_limit(self) -> str:
        """Count this question against the asker, its address and the poll's daily budget of
        model calls; return why it is refused, or "" to answer it."""
        try:
            ratelimit_hit(scope="ask-voter", ident=self.voter.rate_key)
            ratelimit_hit(scope="ask-ip", ident=self.voter.address)
        except RateLimited as limited:
            return (
                "Slow down: you have asked a lot of questions. "
                f"Try again in {limited.retry_after} s."
            )
        try:
            ratelimit_hit(scope="ask-poll-day", ident=f"poll:{self.poll_id}")
        except RateLimited:
            return "This poll has answered all the questions it can today. Try again tomorrow."
        return ""

    async def send_html(self, html: str):
        await self.send(text_data=html)

    async def refuse(self, code: str, message: str):
        await self.send_html(pipeline.render_fragment("refused", code=code, message=message))

    @staticmethod
    def parse(text_data: str | None) -> tuple[str, str]:
        """Return (question, "") for a valid frame, or ("", what is wrong with it)."""
        if not text_data:
            return "", "Send your question as text."
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError):
            return "", "That message was not understood: send a JSON object with a question."
        question = frame.get("question") if isinstance(frame, dict) else None
        if not isinstance(question, str) or not question.strip():
            return "", "Type a question first."
        question = question.strip()
        if NOT_TEXT.search(question):
            return "", "Your question has characters that are not text: type it again."
        if len(question) > QUESTION_MAX_LENGTH:
            return "", (
                f"Keep your question to {QUESTION_MAX_LENGTH} characters "
                f"(this one has {len(question)})."
            )
        return question, ""
