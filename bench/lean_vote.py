"""Experiment, not production code: how fast could a lean async vote path be?

    .venv/bin/python bench/votes.py --app bench.lean_vote:application [--processes N]

An ASGI app that answers POST /poll/<code>/vote itself and hands every other request to
Tally's own application (config.asgi). The vote path skips Django's request stack and
thread hop: it checks the CSRF cookie against X-CSRFToken, reads the voter cookie, parses
{"option": id}, and records the vote in ONE SQL statement on an async psycopg pool
(poll open check with FOR SHARE, INSERT ballot ON CONFLICT DO NOTHING, INSERT choice,
bump one tally shard with its rows locked in id order, read the tally): one round trip
instead of Tally's twelve statements. Single-choice JSON votes only; it answers 201 with
the results JSON, 409 for a repeat voter or a closed poll. It shows the ceiling a real
lean path (for example a Channels AsyncHttpConsumer routed before Django) could reach; it
is not a drop-in.
"""

from __future__ import annotations

import json
import os
import random
import re

from django.conf import settings
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

from config.asgi import application as tally_application  # sets Django up
from core.security import TOKEN_PATTERN, keyed_hash
from polls.models import TALLY_SHARDS

VOTE_PATH = re.compile(r"^/poll/([A-Za-z0-9]{1,16})/vote$")
CSRF_FORMAT = re.compile(r"^[A-Za-z0-9]{32}$|^[A-Za-z0-9]{64}$")

POLL_SQL = "SELECT id, code, question FROM polls_poll WHERE code = %s"
OPTIONS_SQL = "SELECT id, text FROM polls_option WHERE poll_id = %s ORDER BY position, id"
VOTE_SQL = """
WITH poll AS (
    SELECT id FROM polls_poll
    WHERE id = %(poll)s AND closed_at IS NULL AND (closes_at IS NULL OR closes_at > now())
    FOR SHARE
), ballot AS (
    INSERT INTO polls_ballot
        (poll_id, voter_key, ip_key, user_id, comment, comment_removed, created_at)
    SELECT id, %(voter)s, '', NULL, '', false, now() FROM poll
    ON CONFLICT DO NOTHING
    RETURNING id
), choice AS (
    INSERT INTO polls_ballotchoice (ballot_id, option_id)
    SELECT id, %(option)s FROM ballot
    RETURNING ballot_id
), locked AS (
    -- Lock the two shard rows in id order: one UPDATE touching both in heap order can
    -- deadlock with a concurrent vote that meets them the other way round.
    SELECT id FROM polls_tallyshard
    WHERE poll_id = %(poll)s AND shard = %(shard)s
      AND (option_id IS NULL OR option_id = %(option)s)
      AND EXISTS (SELECT 1 FROM choice)
    ORDER BY id
    FOR UPDATE
), bump AS (
    UPDATE polls_tallyshard SET count = count + 1
    WHERE id IN (SELECT id FROM locked)
    RETURNING option_id
)
SELECT
    (SELECT count(*) FROM poll) AS open,
    (SELECT count(*) FROM bump) AS bumped,
    coalesce(t.option_id, 0), sum(t.count)
FROM polls_tallyshard t WHERE t.poll_id = %(poll)s GROUP BY t.option_id
"""

_pool: AsyncConnectionPool | None = None
_polls: dict[str, tuple[int, str, list[tuple[int, str]]]] = {}


async def pool() -> AsyncConnectionPool:
    global _pool
    if _pool is None:
        db = settings.DATABASES["default"]
        conninfo = make_conninfo(
            dbname=db["NAME"],
            user=db["USER"] or None,
            password=db["PASSWORD"] or None,
            host=db["HOST"] or None,
            port=db["PORT"] or None,
        )
        size = int(os.environ.get("LEAN_POOL_SIZE", "8"))
        _pool = AsyncConnectionPool(conninfo, min_size=size, max_size=size, open=False)
        await _pool.open()
    return _pool


async def poll_info(code: str):
    if code not in _polls:  # polls and their options never change once voted on
        async with (await pool()).connection() as conn:
            row = await (await conn.execute(POLL_SQL, [code])).fetchone()
            if row is None:
                return None
            options = await (await conn.execute(OPTIONS_SQL, [row[0]])).fetchall()
        _polls[code] = (row[0], row[2], [(o[0], o[1]) for o in options])
    return _polls[code]


def cookies(scope) -> dict[str, str]:
    jar = {}
    for name, value in scope["headers"]:
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                jar[key] = val
    return jar


def header(scope, wanted: bytes) -> str:
    for name, value in scope["headers"]:
        if name == wanted:
            return value.decode("latin-1")
    return ""


async def respond(send, status: int, body: dict) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


async def vote(scope, receive, send, code: str) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    jar = cookies(scope)
    csrf = jar.get("csrftoken", "")
    if not CSRF_FORMAT.match(csrf) or header(scope, b"x-csrftoken") != csrf:
        return await respond(send, 403, error("csrf", "CSRF check failed."))
    token = jar.get(settings.VOTER_COOKIE_NAME, "")
    if not TOKEN_PATTERN.match(token):
        return await respond(send, 400, error("no_token", "No voter token."))
    info = await poll_info(code)
    if info is None:
        return await respond(send, 404, error("not_found", "There is no such poll."))
    poll_id, question, options = info
    try:
        option = int(json.loads(body)["option"])
    except (ValueError, KeyError, TypeError):
        return await respond(send, 400, error("invalid", "Choose an option."))
    if option not in {o[0] for o in options}:
        return await respond(send, 400, error("invalid", "Choose a valid option."))
    params = {
        "poll": poll_id,
        "voter": "t:" + keyed_hash(token, purpose="voter"),
        "option": option,
        "shard": random.randrange(TALLY_SHARDS),
    }
    async with (await pool()).connection() as conn:
        rows = await (await conn.execute(VOTE_SQL, params)).fetchall()
    opened = rows[0][0] if rows else 0
    accepted = bool(rows and rows[0][1])
    sums = {row[2]: int(row[3]) for row in rows}
    # The tally was read in the same statement, before its own bump: add it back.
    if accepted:
        sums[0] = sums.get(0, 0) + 1
        sums[option] = sums.get(option, 0) + 1
    ballots = sums.get(0, 0)
    results = {
        "code": code,
        "question": question,
        "total_votes": ballots,
        "closed": not opened,
        "results_visible": True,
        "options": [
            {
                "id": oid,
                "text": text,
                "votes": sums.get(oid, 0),
                "percentage": round(sums.get(oid, 0) * 100 / ballots, 1) if ballots else 0.0,
            }
            for oid, text in options
        ],
    }
    if accepted:
        return await respond(send, 201, {**results, "your_vote": [option]})
    if not opened:
        return await respond(send, 409, {**error("closed", "This poll is closed."), **results})
    return await respond(send, 409, {**error("already_voted", "You already voted."), **results})


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["method"] == "POST":
        match = VOTE_PATH.match(scope["path"])
        if match:
            return await vote(scope, receive, send, match.group(1))
    return await tally_application(scope, receive, send)
