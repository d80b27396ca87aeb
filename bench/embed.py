"""Embedding benchmark: model throughput, and from saving a poll to its vector being stored.

    .venv/bin/python bench/embed.py [--sentences 512] [--polls 20]

1. Throughput: the bundled all-MiniLM-L6-v2 embeds distinct short sentences in batches of
   64 (after one warm-up batch); also the latency of one sentence, as a search query pays.
2. Save to vector: creates its own PostgreSQL database (dropped and recreated each run),
   migrates it, starts one Celery worker (`celery -A config worker --concurrency 1`) on a
   Redis database of its own, waits until the worker has loaded the model (a first poll,
   not timed), then creates polls through polls.services.poll_create, one at a time, and
   times each from the call until its question's vector row is in the database: commit,
   the on-commit hook, the broker, the worker's task, the embedding and the upsert.
The worker is stopped and the database dropped on the way out, whatever happens.

Needs: PostgreSQL (trust auth for the admin DSN) and Redis.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

PROJECT_DIR = Path(__file__).resolve().parent.parent
TOPICS = [
    "pizza toppings",
    "electric cars",
    "the best programming language",
    "weekend hiking trails",
    "football tactics",
    "coffee or tea",
    "remote work",
    "science fiction novels",
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=512, help="batch size to time (512)")
    parser.add_argument("--polls", type=int, default=20, help="polls timed save to vector (20)")
    parser.add_argument("--admin-dsn", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="tally_bench_embed")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per vector (120)")
    return parser.parse_args(argv)


def summary(samples: list[float], unit: str = "ms") -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"p50 {statistics.median(ordered):7.1f} {unit}   p95 {p95:7.1f} {unit}   "
        f"max {ordered[-1]:7.1f} {unit}   (n={len(ordered)})"
    )


def recreate_database(admin_dsn: str, name: str, *, drop_only: bool = False) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        if not drop_only:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def throughput(count: int) -> None:
    from chat import embeddings

    sentences = [
        f"Poll {number}: what do you think about {TOPICS[number % len(TOPICS)]}?"
        for number in range(count)
    ]
    started = time.perf_counter()
    embeddings.get_model()
    print(f"model load (import included): {time.perf_counter() - started:.1f} s")
    embeddings.embed(sentences[:64])
    rates = []
    for _ in range(3):
        started = time.perf_counter()
        embeddings.embed(sentences, batch_size=64)
        rates.append(count / (time.perf_counter() - started))
    print(
        f"batch of {count}, 64 at a time: {max(rates):.0f} sentences/s best of 3 "
        f"(median {statistics.median(rates):.0f})"
    )
    singles = []
    for sentence in sentences[:50]:
        started = time.perf_counter()
        embeddings.embed([sentence])
        singles.append((time.perf_counter() - started) * 1000)
    print("one sentence (a search query):", summary(singles))


def wait_for_vector(poll_id: int, timeout: float) -> float:
    """Return the time at which the poll's question vector is stored."""
    from chat.models import Snippet

    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if Snippet.objects.filter(kind=Snippet.Kind.POLL, source_id=poll_id).exists():
            return time.perf_counter()
        time.sleep(0.002)
    raise TimeoutError(f"no vector for poll {poll_id} after {timeout:.0f} s")


def save_to_vector(args: argparse.Namespace, env: dict) -> None:
    from django.core.management import call_command

    from polls.services import poll_create

    call_command("migrate", verbosity=0)
    log = tempfile.NamedTemporaryFile(prefix="celery-", suffix=".log", delete=False)  # noqa: SIM115
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "config",
            "worker",
            "--concurrency",
            "1",
            "--loglevel",
            os.environ.get("BENCH_WORKER_LOGLEVEL", "warning"),
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=PROJECT_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        started = time.perf_counter()
        first = poll_create(question="Warm-up: is the worker ready?", options=["Yes", "No"])
        ready = wait_for_vector(first.pk, args.timeout)
        # The task goes on to tag the poll (embedding the topic labels, once): let it finish.
        from chat.models import PollTag

        deadline = time.perf_counter() + args.timeout
        while not PollTag.objects.filter(poll=first).exists():
            if time.perf_counter() > deadline:
                raise TimeoutError("the warm-up poll was never tagged")
            time.sleep(0.01)
        print(f"worker start to first vector (model load included): {ready - started:.1f} s")
        samples = []
        for number in range(args.polls):
            topic = TOPICS[number % len(TOPICS)]
            started = time.perf_counter()
            poll = poll_create(
                question=f"What do you think about {topic}? ({number})",
                options=["Love it", "It's fine", "Not for me"],
            )
            samples.append((wait_for_vector(poll.pk, args.timeout) - started) * 1000)
        print("save to vector stored, running worker:", summary(samples))
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
        if worker.returncode not in (0, -15) or os.environ.get("BENCH_WORKER_LOGLEVEL"):
            print(f"worker exited with {worker.returncode}; log: {log.name}")


def main(argv=None) -> None:
    args = parse_args(argv)
    database_url = args.admin_dsn.rsplit("/", 1)[0] + "/" + args.database
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis_url,
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    sys.path.insert(0, str(PROJECT_DIR))
    import django

    django.setup()
    from django.db import connections

    recreate_database(args.admin_dsn, args.database)
    try:
        throughput(args.sentences)
        save_to_vector(args, env)
    finally:
        connections.close_all()
        for alias in connections:
            if connections[alias].vendor == "postgresql":
                connections[alias].close_pool()
        recreate_database(args.admin_dsn, args.database, drop_only=True)


if __name__ == "__main__":
    main()
