"""SQL statements and Python time per vote, measured in-process (no server, no network).

    .venv/bin/python bench/queries.py [--votes 500]

Uses the same fresh PostgreSQL database and production settings as bench/votes.py, drives
POST /poll/<code>/vote through Django's full middleware stack with the test client (CSRF
enforced), prints every SQL statement of one accepted vote, then times many votes and
prints the cProfile functions where that time goes, grouped by layer.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import secrets
import sys
import time
from collections import defaultdict
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

import votes  # noqa: E402  (bench/votes.py: database and environment helpers)

LAYERS = [
    ("psycopg / PostgreSQL round trips", ("psycopg", "psycopg_pool")),
    ("Django ORM and SQL compiler", ("django/db/",)),
    ("CSRF middleware", ("django/middleware/csrf",)),
    ("session and auth middleware", ("django/contrib/sessions", "django/contrib/auth")),
    ("other middleware", ("django/middleware", "whitenoise", "django_htmx", "core/middleware")),
    ("URL resolving", ("django/urls",)),
    ("forms and validation", ("django/forms", "polls/forms")),
    ("JSON and responses", ("django/http", "json/")),
    ("Tally services and selectors", ("polls/services", "polls/selectors", "polls/live")),
    ("channel layer / cache", ("channels", "redis", "django/core/cache")),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=500)
    parser.add_argument("--database", default="tally_bench_queries")
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    bench_args = votes.parse_args(["--database", args.database, "--admin-dsn", args.admin_dsn])
    env = votes.server_env(bench_args)
    votes.recreate_database(args.admin_dsn, args.database)
    try:
        votes.migrate(env)
        os.environ.update(env)
        return measure(args.votes)
    finally:
        from django.db import connections

        connections.close_all()
        votes.drop_database(args.admin_dsn, args.database)


def measure(n_votes: int) -> int:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from polls import live, services

    # Outside a server there is no event loop to coalesce live pushes on, so each vote
    # would push its tally straight away; under daphne a vote only marks the poll dirty
    # (pushes are coalesced to ~10/s per poll). Mark-and-forget here too.
    pushes = []
    live.announce_tally_soon = pushes.append

    poll = services.poll_create(question="Queries per vote", options=["A", "B", "C", "D"])
    option_id = poll.options.first().id
    csrf = secrets.token_urlsafe(24)[:32].replace("-", "a").replace("_", "b")
    client = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
    client.cookies["csrftoken"] = csrf

    def cast(i: int):
        client.cookies["tally_voter"] = f"queries{i:030d}"
        return client.post(
            f"/poll/{poll.code}/vote",
            data=json.dumps({"option": option_id}),
            content_type="application/json",
            HTTP_ACCEPT="application/json",
            HTTP_X_CSRFTOKEN=csrf,
        )

    for i in range(5):  # warm up
        assert cast(i).status_code == 201
    with CaptureQueriesContext(connection) as captured:
        response = cast(10_000)
    assert response.status_code == 201, response.content
    print(f"SQL statements for one accepted JSON vote: {len(captured.captured_queries)}")
    print("(plus, per poll, at most ~10 coalesced live pushes a second: not per vote)")
    for number, query in enumerate(captured.captured_queries, 1):
        print(f"  {number:2d}. {query['sql'][:160]}")

    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for i in range(n_votes):
        cast(20_000 + i)
    profiler.disable()
    elapsed = time.perf_counter() - start
    print(
        f"\n{n_votes} votes one after another in-process: {elapsed / n_votes * 1000:.2f} ms "
        f"per vote ({n_votes / elapsed:.0f}/s on one core, test client, profiler on)"
    )
    stats = pstats.Stats(profiler)
    layer_time = defaultdict(float)
    for (filename, _, _), (_, _, self_time, _, _) in stats.stats.items():
        for name, markers in LAYERS:
            if any(marker in filename for marker in markers):
                layer_time[name] += self_time
                break
        else:
            layer_time["everything else (test client, stdlib, ...)"] += self_time
    total = sum(layer_time.values())
    print("Self time by layer (cProfile, so Python-heavy layers look a little heavier):")
    for name, seconds in sorted(layer_time.items(), key=lambda item: -item[1]):
        print(f"  {seconds / total * 100:5.1f}%  {seconds / n_votes * 1000:6.3f} ms  {name}")
    print("\nTop functions by cumulative time:")
    stats.sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
