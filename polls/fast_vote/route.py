"""POST /poll/<code>/vote answered ahead of Django's view stack, on PostgreSQL.

The vote meets every rule of the page path, from the same homes: Django's request and
middleware checks (polls/fast_vote/stack.py), the voter cookie (core/voters.py), the rate
limits, the form and the outcome (polls/services/vote_rules.py), and the same answers
(polls/views/voting.py). What differs is how it is written: with the other votes of the
moment, in one transaction on an async pool (polls/fast_vote/writer.py), and with no
thread per request. Whatever this route does not take on goes to Django unchanged before
anything is counted: a signed-in browser, a poll that is hidden, in a circle, anonymous,
signed-in only or open to vote changes, a key rotation under way, an unusual body.
"""

import asyncio
import logging
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.http import Http404
from psycopg.conninfo import make_conninfo

from core.db import in_worker_thread
from core.events import deliver
from core.http import BadRequest, is_json_request, json_error
from core.middleware import is_outage
from core.ratelimit import RateLimited
from core.views import not_found, rate_limited, service_unavailable
from core.voters import Voter, voter_from_request
from polls.fast_vote.stack import VoteStack
from polls.fast_vote.writer import BallotDraft, GroupCommitWriter, Overloaded, Written
from polls.models import Option, Poll
from polls.selectors import results_sections_shared, tally_from_sums
from polls.services import VoteOutcome, vote_rules
from polls.views import voting
from polls.visibility import poll_or_404

logger = logging.getLogger(__name__)

VOTE_PATH = re.compile(r"^/poll/(?P<code>[A-Za-z0-9]{1,16})/vote$")
BODY_MAX = 64 * 1024
FAST_CONTENT_TYPES = {"application/json", "application/x-www-form-urlencoded"}
# A poll as the route knew it is checked against the database by every batch (its
# version, hidden, circle), so this only bounds how long a stale copy costs a retry.
POLL_CACHE_SECONDS = 5.0
POLL_CACHE_MAX = 10_000


class Delegate(Exception):
    """Django's own stack answers this request."""


@dataclass(frozen=True)
class KnownPoll:
    poll: Poll
    options: list[Option]
    loaded: float


def load_poll(code: str) -> KnownPoll | None:
    poll = Poll.objects.filter(code=code).first()
    if poll is None:
        return None
    return KnownPoll(poll, list(poll.options.all()), time.monotonic())


def takes_poll(poll: Poll) -> bool:
    """Whether the fast route decides votes on this poll; Django's path decides the rest."""
    return (
        poll.hidden_at is None
        and poll.circle_id is None
        and not poll.anonymous
        and poll.protection != Poll.Protection.ACCOUNT
        and not poll.allows_vote_changes
        and not settings.HASH_KEY_FALLBACKS
    )


@dataclass
class FastVote:
    """One vote in flight: the request it came with and what the rules made of it."""

    request: object
    known: KnownPoll
    voter: Voter
    clean: vote_rules.CleanVote
    draft: BallotDraft
    ballot_id: int | None = None

    def decide(self, written: Written) -> VoteOutcome:
        poll = self.known.poll
        poll.closed_at, poll.closes_at = written.closed_at, written.closes_at
        self.ballot_id = written.ballot_id
        if written.replay is not None:
            result, record = written.replay
            return VoteOutcome.from_record(poll=poll, result=result, record=record)
        recorded = written.ballot_id is not None
        return VoteOutcome.decided(
            result=vote_rules.written_result(poll=poll, recorded=recorded),
            poll=poll,
            voter=self.voter,
            tally=tally_from_sums(options=self.known.options, sums=written.sums),
            your_vote=vote_rules.recorded_choices(poll=poll, option_ids=self.clean.option_ids)
            if recorded
            else written.existing_choices,
        )


class FastVoteRoute:
    """An ASGI application: the vote route, and Django for everything else."""

    def __init__(self, django_app):
        self.django_app = django_app
        self.stack = VoteStack()
        self.polls: dict[str, KnownPoll] = {}
        self.loading: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Future] = {}
        self.writers: dict[asyncio.AbstractEventLoop, GroupCommitWriter] = {}

    async def __call__(self, scope, receive, send):
        match = VOTE_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope["method"] != "POST":
            return await self.django_app(scope, receive, send)
        body, complete = await read_body(receive)
        if body is None:
            return  # the client went away
        try:
            if not complete:
                raise Delegate
            response = await self.vote(scope, body, match["code"])
        except Delegate:
            return await self.django_app(scope, replaying(body, complete, receive), send)
        await self.django_app.send_response(response, send)

    async def vote(self, scope, body: bytes, code: str):
        request = self.stack.request(scope, body, voting.vote)
        if request is None or request.content_type not in FAST_CONTENT_TYPES:
            raise Delegate
        try:
            return await self.decide(request, code)
        except Exception as error:
            if not is_outage(error):
                raise
            logger.warning("Service unavailable for %s: %r", request.path, error)
            return await self.finish(request, service_unavailable, request)

    async def decide(self, request, code: str):
        known = await self.known_poll(code)
        if known is None or not takes_poll(known.poll):
            raise Delegate
        voter = voter_from_request(request)
        try:
            if settings.RATELIMIT_ENABLE:
                await in_worker_thread(vote_rules.count_vote_request, voter)
            clean = vote_rules.clean_vote(request, poll=known.poll, options=known.options)
        except RateLimited as limited:
            return await self.finish(request, rate_limited, request, limited.retry_after)
        except BadRequest as error:
            if is_json_request(request):
                return self.stack.response(
                    request, json_error(400, error.code, error.message, error.field)
                )
            return await self.finish(request, voting.answer_bad_vote, request, known.poll, error)
        try:
            for fresh in (False, True):
                if fresh:
                    known = await self.known_poll(code, fresh=True)
                    if known is None or not takes_poll(known.poll):
                        break
                answer = await self.writer().submit(self.fast_vote(request, known, voter, clean))
                if answer is not None:
                    return answer
        except Overloaded:
            return await self.finish(request, service_unavailable, request)
        # The poll changed under the vote: decide it the page path's way, limits counted.
        return await self.finish(request, cast_on_page_path, request, code, voter)

    def fast_vote(self, request, known: KnownPoll, voter: Voter, clean) -> FastVote:
        poll = known.poll
        key = clean.idempotency_key
        draft = BallotDraft(
            poll_id=poll.pk,
            version=poll.updated_at,
            voter_key=voter.key,
            ip_key=vote_rules.ballot_ip_key(poll=poll, voter=voter),
            option_ids=clean.option_ids,
            comment=clean.comment,
            record_key=vote_rules.idempotency_record_key(poll=poll, voter=voter, key=key)
            if key
            else "",
        )
        return FastVote(request, known, voter, clean, draft)

    async def finish(self, request, view, *args):
        """Answer through a page-path function, off the event loop (it may read the
        database), then through the middleware's response phases."""
        return self.stack.response(request, await in_worker_thread(view, *args))

    async def known_poll(self, code: str, *, fresh: bool = False) -> KnownPoll | None:
        """The poll as last read; read again when asked or when it is old, once for all
        the votes that want it at that moment."""
        known = self.polls.get(code)
        if (
            not fresh
            and known is not None
            and time.monotonic() - known.loaded <= POLL_CACHE_SECONDS
        ):
            return known
        key = (asyncio.get_running_loop(), code)
        loading = self.loading.get(key)
        if loading is None:
            loading = self.loading[key] = asyncio.ensure_future(in_worker_thread(load_poll, code))
            loading.add_done_callback(lambda _done: self.loading.pop(key, None))
        known = await asyncio.shield(loading)
        if len(self.polls) >= POLL_CACHE_MAX:
            self.polls.clear()
        if known is not None:
            self.polls[code] = known
        return known

    async def close(self) -> None:
        """Close this event loop's writer; its pooled connections go back."""
        writer = self.writers.pop(asyncio.get_running_loop(), None)
        if writer is not None:
            await writer.close()

    def writer(self) -> GroupCommitWriter:
        loop = asyncio.get_running_loop()
        writer = self.writers.get(loop)
        if writer is None:
            writer = self.writers[loop] = GroupCommitWriter(
                conninfo=conninfo(),
                pool_size=settings.FAST_VOTE_POOL_SIZE,
                batch_max=settings.FAST_VOTE_BATCH_MAX,
                queue_max=settings.FAST_VOTE_QUEUE_MAX,
                timeout=settings.DATABASES["default"]["OPTIONS"]["pool"]["timeout"],
                after_commit=self.after_commit,
            )
        return writer

    async def after_commit(self, decided: list[tuple[FastVote, VoteOutcome]]) -> list:
        """Announce a batch's votes and answer each, in one trip off the event loop."""
        return await in_worker_thread(self.announce_and_answer, decided)

    def announce_and_answer(self, decided: list[tuple[FastVote, VoteOutcome]]) -> list:
        answers = []
        with results_sections_shared():
            for vote, outcome in decided:
                if vote.ballot_id is not None:
                    for event in vote_rules.accepted_events(
                        poll=outcome.poll,
                        voter=vote.voter,
                        ballot_id=vote.ballot_id,
                        comment=vote.clean.comment,
                    ):
                        deliver(event)
                response = voting.answer_vote(vote.request, vote.known.poll, outcome)
                answers.append(self.stack.response(vote.request, response))
        return answers


def cast_on_page_path(request, code: str, voter: Voter):
    """Decide a vote as the page path does once its limits are counted."""
    try:
        poll = poll_or_404(request, code)
    except Http404:
        return not_found(request)
    return voting.cast_and_answer(request, poll, voter)


def conninfo() -> str:
    database = settings.DATABASES["default"]
    return make_conninfo(
        dbname=database["NAME"],
        user=database.get("USER") or None,
        password=database.get("PASSWORD") or None,
        host=database.get("HOST") or None,
        port=database.get("PORT") or None,
        application_name="tally-fast-vote",
    )


async def read_body(receive) -> tuple[bytes | None, bool]:
    """The request body, or what arrived of it before it passed BODY_MAX (False); None
    if the client went away."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None, False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body"):
            return b"".join(chunks), True
        if size > BODY_MAX:
            return b"".join(chunks), False


def replaying(body: bytes, complete: bool, receive):
    """A receive that gives Django the body already read, then the rest of the stream."""
    sent = False

    async def receive_again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return receive_again
