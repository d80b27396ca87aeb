"""Group commit: the votes that arrive while the previous batch is being written are
written together, in one transaction, and each is answered only once that commits.

A batch holds at most one vote per voter, per address (where the poll counts addresses)
and per idempotency key: a second one waits for the next batch, where the database's
unique constraints see the first. Inside the transaction a batch takes the shared lock on
each of its polls that a close takes exclusively (polls/services/locks.py), then one
statement re-reads the polls, records the idempotency keys and inserts the ballots and
their choices (ON CONFLICT DO NOTHING: the unique constraints decide duplicates), one
statement bumps one tally shard per poll with its rows locked in id order, and one reads
the tallies back. Nothing in it raises for one bad vote; should a batch fail all the same
(a deadlock, a lost connection), its votes are written again one transaction each, so one
vote's failure is never its neighbours'.
"""

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from polls.models import (
    TALLY_SHARDS,
    Ballot,
    BallotChoice,
    IdempotentVote,
    Option,
    Poll,
    TallyShard,
)

logger = logging.getLogger(__name__)

LOCK_SQL = "SELECT pg_advisory_xact_lock_shared(id) FROM unnest(%s::bigint[]) AS p(id) ORDER BY id"

VOTE_SQL = f"""
WITH vote AS (
    SELECT * FROM unnest(
        %(idx)s::int[], %(poll)s::bigint[], %(version)s::timestamptz[], %(voter)s::text[],
        %(ip)s::text[], %(comment)s::text[], %(record)s::text[], %(nchoices)s::int[]
    ) AS v(idx, poll_id, version, voter_key, ip_key, comment, record_key, nchoices)
), choice AS (
    SELECT * FROM unnest(%(choice_idx)s::int[], %(choice_option)s::bigint[]) AS c(idx, option_id)
), poll AS (
    SELECT id, closed_at, closes_at, updated_at, hidden_at, circle_id,
        closed_at IS NOT NULL OR coalesce(closes_at <= statement_timestamp(), false) AS closed
    FROM {Poll._meta.db_table} WHERE id IN (SELECT poll_id FROM vote)
), fresh AS (
    -- Votes decided on the poll as it still is: same version, still reachable by all,
    -- every chosen option still its own.
    SELECT v.*, p.closed FROM vote v JOIN poll p ON p.id = v.poll_id
    WHERE p.updated_at = v.version AND p.hidden_at IS NULL AND p.circle_id IS NULL
      AND v.nchoices = (
          SELECT count(*) FROM choice c JOIN {Option._meta.db_table} o ON o.id = c.option_id
          WHERE c.idx = v.idx AND o.poll_id = v.poll_id)
), recorded AS (
    INSERT INTO {IdempotentVote._meta.db_table} (key, outcome, record, created_at)
    SELECT record_key, '', '{{}}', statement_timestamp() FROM fresh WHERE record_key <> ''
    ON CONFLICT DO NOTHING
    RETURNING key
), ballot AS (
    INSERT INTO {Ballot._meta.db_table}
        (poll_id, voter_key, ip_key, user_id, comment, comment_removed, shard, created_at)
    SELECT poll_id, voter_key, ip_key, NULL, comment, false, %(shard)s, clock_timestamp()
    FROM fresh
    WHERE NOT closed AND (record_key = '' OR record_key IN (SELECT key FROM recorded))
    ORDER BY poll_id, voter_key
    ON CONFLICT DO NOTHING
    RETURNING id, poll_id, voter_key
), choices AS (
    INSERT INTO {BallotChoice._meta.db_table} (ballot_id, option_id)
    SELECT b.id, c.option_id FROM ballot b
    JOIN fresh f ON f.poll_id = b.poll_id AND f.voter_key = b.voter_key
    JOIN choice c ON c.idx = f.idx
)
SELECT v.idx, f.idx IS NOT NULL, p.closed_at, p.closes_at, b.id,
    f.record_key <> '' AND f.record_key NOT IN (SELECT key FROM recorded)
FROM vote v
LEFT JOIN poll p ON p.id = v.poll_id
LEFT JOIN fresh f ON f.idx = v.idx
LEFT JOIN ballot b ON b.poll_id = f.poll_id AND b.voter_key = f.voter_key
"""  # noqa: S608 - table names from the models, values as parameters

TALLY_BUMP_SQL = f"""
WITH delta AS (
    SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::int[]) AS d(poll_id, option_id, n)
), locked AS (
    SELECT t.id, d.n FROM {TallyShard._meta.db_table} t
    JOIN delta d ON t.poll_id = d.poll_id AND t.option_id IS NOT DISTINCT FROM d.option_id
    WHERE t.shard = %s
    ORDER BY t.id
    FOR UPDATE OF t
)
UPDATE {TallyShard._meta.db_table} t SET count = t.count + locked.n
FROM locked WHERE t.id = locked.id
"""  # noqa: S608

TALLY_SQL = f"""
SELECT poll_id, option_id, sum(count) FROM {TallyShard._meta.db_table}
WHERE poll_id = ANY(%s) GROUP BY poll_id, option_id
"""  # noqa: S608

CHOICES_SQL = f"""
SELECT b.poll_id, b.voter_key, array_agg(c.option_id ORDER BY c.option_id)
FROM {Ballot._meta.db_table} b JOIN {BallotChoice._meta.db_table} c ON c.ballot_id = b.id
WHERE (b.poll_id, b.voter_key) IN (SELECT * FROM unnest(%s::bigint[], %s::text[]))
GROUP BY b.poll_id, b.voter_key
"""  # noqa: S608

RECORDS_SQL = (
    f"SELECT key, outcome, record FROM {IdempotentVote._meta.db_table} WHERE key = ANY(%s)"  # noqa: S608
)
RECORD_UPDATE_SQL = (
    f"UPDATE {IdempotentVote._meta.db_table} SET outcome = %s, record = %s WHERE key = %s"  # noqa: S608
)


class Overloaded(Exception):
    """Too many votes wait, or the database did not answer in time: nothing was written."""


@dataclass(frozen=True)
class BallotDraft:
    """A vote the rules let through, as the batch writes it."""

    poll_id: int
    version: datetime  # the poll's updated_at the vote was decided on
    voter_key: str
    ip_key: str  # empty unless the poll counts addresses
    option_ids: list[int]
    comment: str
    record_key: str  # empty without an idempotency key


@dataclass(frozen=True)
class Written:
    """What the batch found for one vote, for the rules to turn into its outcome."""

    closed_at: datetime | None = None
    closes_at: datetime | None = None
    ballot_id: int | None = None
    existing_choices: list[int] | None = None  # a refused voter's ballot
    replay: tuple[str, dict] | None = None  # the first outcome stored for the key
    sums: dict[int | None, int] = field(default_factory=dict)  # option id (None: ballots)


class Vote(Protocol):
    """A vote in flight, as the route hands it over."""

    draft: BallotDraft

    def decide(self, written: Written):
        """The vote's outcome (polls.services.VoteOutcome) from what the batch found."""


@dataclass
class Pending:
    vote: Vote
    future: asyncio.Future

    @property
    def draft(self) -> BallotDraft:
        return self.vote.draft


def take_batch(waiting: list[Pending], limit: int) -> tuple[list[Pending], list[Pending]]:
    """Split off the next batch: at most one vote per voter, address and key each."""
    batch, later, seen = [], [], set()
    for pending in waiting:
        draft = pending.draft
        claims = {("voter", draft.poll_id, draft.voter_key)}
        if draft.ip_key:
            claims.add(("ip", draft.poll_id, draft.ip_key))
        if draft.record_key:
            claims.add(("record", draft.record_key))
        if len(batch) >= limit or claims & seen:
            later.append(pending)
        else:
            seen |= claims
            batch.append(pending)
    return batch, later


class GroupCommitWriter:
    """One per event loop: a small async pool and the batches written through it."""

    def __init__(
        self,
        *,
        conninfo: str,
        pool_size: int,
        batch_max: int,
        queue_max: int,
        timeout: float,
        after_commit: Callable,
    ):
        self.pool = AsyncConnectionPool(
            conninfo, min_size=pool_size, max_size=pool_size, timeout=timeout, open=False
        )
        self.slots = asyncio.Semaphore(pool_size)
        self.batch_max = batch_max
        self.queue_max = queue_max
        self.after_commit = after_commit  # async (list[(Vote, outcome)]) -> list[answer]
        self.waiting: list[Pending] = []
        self.wakeup = asyncio.Event()
        self.runner: asyncio.Task | None = None

    async def submit(self, vote: Vote):
        """Write the vote with its batch; the answer after_commit made for it, or None when
        the poll changed meanwhile (decide it again). Raises Overloaded."""
        if len(self.waiting) >= self.queue_max:
            raise Overloaded
        pending = Pending(vote, asyncio.get_running_loop().create_future())
        self.waiting.append(pending)
        self.wakeup.set()
        if self.runner is None or self.runner.done():
            self.runner = asyncio.create_task(self._run())
        return await pending.future

    async def close(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
        await self.pool.close()

    async def _run(self) -> None:
        await self.pool.open()
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            while self.waiting:
                await self.slots.acquire()
                batch, self.waiting = take_batch(self.waiting, self.batch_max)
                task = asyncio.create_task(self._write(batch))
                task.add_done_callback(lambda _task: self.slots.release())

    async def _write(self, batch: list[Pending]) -> None:
        try:
            decided = await self._commit(batch)
        except (PoolTimeout, psycopg.OperationalError) as error:
            logger.warning("Votes not written (%s): %r", len(batch), error)
            for pending in batch:
                _fail(pending, Overloaded())
            return
        except psycopg.Error as error:
            if len(batch) == 1:
                logger.warning("A vote was not written: %r", error)
                _fail(batch[0], Overloaded())
                return
            for pending in batch:
                await self._write([pending])
            return
        except BaseException as error:
            for pending in batch:
                _fail(pending, error)
            raise
        answered = [(pending, outcome) for pending, outcome in decided if outcome is not None]
        for pending, outcome in decided:
            if outcome is None and not pending.future.done():
                pending.future.set_result(None)
        try:
            answers = await self.after_commit([(p.vote, outcome) for p, outcome in answered])
        except BaseException as error:
            for pending, _outcome in answered:
                _fail(pending, error)
            raise
        for (pending, _outcome), answer in zip(answered, answers, strict=True):
            if not pending.future.done():
                pending.future.set_result(answer)

    async def _commit(self, batch: list[Pending]) -> list[tuple[Pending, object]]:
        drafts = [pending.draft for pending in batch]
        poll_ids = sorted({draft.poll_id for draft in drafts})
        shard = random.randrange(TALLY_SHARDS)
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(LOCK_SQL, [poll_ids])
            rows = await (await conn.execute(VOTE_SQL, _vote_params(drafts, shard))).fetchall()
            found = {row[0]: row[1:] for row in rows}
            deltas: dict[tuple[int, int | None], int] = {}
            refused, replayed = [], []
            for index, draft in enumerate(drafts):
                fresh, _closed_at, _closes_at, ballot_id, replay = found[index]
                if ballot_id is not None:
                    for key in (None, *draft.option_ids):
                        deltas[draft.poll_id, key] = deltas.get((draft.poll_id, key), 0) + 1
                elif replay:
                    replayed.append(draft.record_key)
                elif fresh:
                    refused.append(draft)
            if deltas:
                await conn.execute(
                    TALLY_BUMP_SQL,
                    [[k[0] for k in deltas], [k[1] for k in deltas], list(deltas.values()), shard],
                )
            choices = {}
            if refused:
                cursor = await conn.execute(
                    CHOICES_SQL,
                    [[d.poll_id for d in refused], [d.voter_key for d in refused]],
                )
                choices = {(row[0], row[1]): row[2] for row in await cursor.fetchall()}
            records = {}
            if replayed:
                cursor = await conn.execute(RECORDS_SQL, [replayed])
                records = {row[0]: (row[1], row[2]) for row in await cursor.fetchall()}
            sums: dict[int, dict[int | None, int]] = {poll_id: {} for poll_id in poll_ids}
            for poll_id, option_id, total in await (
                await conn.execute(TALLY_SQL, [poll_ids])
            ).fetchall():
                sums[poll_id][option_id] = int(total)
            decided, stored = [], []
            for index, pending in enumerate(batch):
                draft = pending.draft
                fresh, closed_at, closes_at, ballot_id, replay = found[index]
                if not fresh:  # the poll changed since the vote was decided: decide it again
                    decided.append((pending, None))
                    continue
                outcome = pending.vote.decide(
                    Written(
                        closed_at=closed_at,
                        closes_at=closes_at,
                        ballot_id=ballot_id,
                        existing_choices=choices.get((draft.poll_id, draft.voter_key)),
                        replay=records.get(draft.record_key) if replay else None,
                        sums=sums[draft.poll_id],
                    )
                )
                decided.append((pending, outcome))
                if draft.record_key and not replay:
                    stored.append(
                        (outcome.result.value, Jsonb(outcome.as_record()), draft.record_key)
                    )
            if stored:
                async with conn.cursor() as cursor:
                    await cursor.executemany(RECORD_UPDATE_SQL, stored)
        return decided


def _vote_params(drafts: list[BallotDraft], shard: int) -> dict:
    choice_idx, choice_option = [], []
    for index, draft in enumerate(drafts):
        for option_id in draft.option_ids:
            choice_idx.append(index)
            choice_option.append(option_id)
    return {
        "idx": list(range(len(drafts))),
        "poll": [d.poll_id for d in drafts],
        "version": [d.version for d in drafts],
        "voter": [d.voter_key for d in drafts],
        "ip": [d.ip_key for d in drafts],
        "comment": [d.comment for d in drafts],
        "record": [d.record_key for d in drafts],
        "nchoices": [len(d.option_ids) for d in drafts],
        "choice_idx": choice_idx,
        "choice_option": choice_option,
        "shard": shard,
    }


def _fail(pending: Pending, error: BaseException) -> None:
    if not pending.future.done():
        pending.future.set_exception(error)
