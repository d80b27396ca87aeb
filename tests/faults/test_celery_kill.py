"""A Celery worker killed with kill -9 in the middle of a task loses no task: the task is
acknowledged only once it has run, so its message waits in Redis, goes back to the queue
once the visibility timeout has passed, and a new worker runs it; its effect exists once.
And celery beat killed and restarted goes on firing the periodic tasks."""

import json
import time
from datetime import timedelta

import psycopg
import pytest
import redis
from celery import Celery
from django.db import connection
from django.utils import timezone

from chat.models import PollTag, Snippet
from polls.models import Option, Poll
from tests.faults.services import celery_beat, celery_worker
from tests.polls.factories import PollFactory
from tests.server import daphne_env, database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

VISIBILITY = 5  # seconds: CELERY_VISIBILITY_TIMEOUT of the workers (300 in production)
WAIT = 60.0  # seconds: generous deadline of each wait
# Seconds from the kill to the new worker receiving the task: the visibility timeout and
# a worker's start.
REDELIVERY = VISIBILITY + 25.0
TASK = "chat.tasks.embed_poll"


def until(check, what: str, timeout: float = WAIT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"{what} within {timeout:.0f} s")


def worker_env(broker_url: str) -> dict[str, str]:
    """The environment of a worker: the test database, the private broker, a short
    visibility timeout so that a lost task comes back in seconds rather than minutes."""
    return daphne_env({"REDIS_URL": broker_url, "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY)})


def send(broker_url: str, name: str, *args) -> str:
    """Queue a task by name on the private broker, as the site does; return its id."""
    with Celery("tally-test-client", broker=broker_url, set_as_current=False) as app:
        return app.send_task(name, args=args).id


def unacked(broker: redis.Redis) -> dict[str, float]:
    """The tasks delivered to a worker and not yet acknowledged: their id and when each
    was delivered (time.time())."""
    pipe = broker.pipeline()  # one MULTI: kombu changes the two keys together
    index, payloads = (
        pipe.zrange("unacked_index", 0, -1, withscores=True).hgetall("unacked").execute()
    )
    delivered = dict(index)
    held = {}
    for tag, payload in payloads.items():
        message, _exchange, _routing_key = json.loads(payload)
        held[message["headers"]["id"]] = delivered[tag]
    return held


def lock_waiters(table: str) -> list[int]:
    """Database sessions waiting on a lock to insert into table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE %s",
            [f'INSERT INTO "{table}"%'],
        )
        return [pid for (pid,) in cursor.fetchall()]


def sessions_alive(pids: list[int]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids])
        return cursor.fetchone()[0] > 0


def snippets_of(poll: Poll) -> list[tuple]:
    return sorted(
        Snippet.objects.filter(poll=poll).values_list("id", "kind", "source_id", "text_hash")
    )


def test_worker_killed_mid_task_loses_no_task(on_postgres, private_redis, tmp_path, capsys):
    """kill -9 of a worker (all its processes) while it embeds a poll: the message stays
    unacknowledged in Redis, a new worker gets it once the visibility timeout has passed and
    runs it to completion once; the poll has one snippet per text and its tags, and running
    the task again changes nothing."""
    poll = PollFactory(question="Which season is best for a long walk?")
    wanted = sorted(
        [(Snippet.Kind.POLL.value, poll.pk)]
        + [
            (Snippet.Kind.OPTION.value, pk)
            for pk in Option.objects.filter(poll=poll).values_list("id", flat=True)
        ]
    )
    env = worker_env(private_redis.url)
    broker = redis.Redis.from_url(private_redis.url)
    table = Snippet._meta.db_table
    first = celery_worker("first", env=env, log_dir=tmp_path)
    second = celery_worker("second", env=env, log_dir=tmp_path)
    # Another session holds a lock that lets the task read but not write its snippets, so
    # the worker is caught in the middle of the task: past the embedding, at its write.
    locker = psycopg.connect(database_url(connection.settings_dict))
    try:
        locker.execute(f'LOCK TABLE "{table}" IN SHARE MODE')
        first.start()
        task_id = send(private_redis.url, TASK, poll.pk)
        stuck = until(lambda: lock_waiters(table), "the worker never reached the task's write")
        held = unacked(broker)
        assert task_id in held, "a running task is not acknowledged yet (acks_late)"
        delivered_at = held[task_id]

        first.kill()
        killed_at = time.monotonic()
        locker.rollback()
        # The dead worker's database session ends without committing anything.
        until(lambda: not sessions_alive(stuck), "the dead worker's session never ended")
        assert snippets_of(poll) == [], "the killed run left nothing behind"
        assert task_id in unacked(broker), "the message outlived the worker"
        assert f"{TASK}[{task_id}] succeeded" not in first.log()

        # Kombu hands unacknowledged messages back when a worker starts and, after that,
        # only every ~100 s (unacked_restore_interval x unacked_restore_throttle): start the
        # new worker once the message is visible again, as a restarted worker would find it.
        time.sleep(max(0.0, delivered_at + VISIBILITY - time.time()))
        second.start()
        second.wait_for_log(f"{TASK}[{task_id}] received", timeout=WAIT)
        redelivered = time.monotonic() - killed_at
        second.wait_for_log(f"{TASK}[{task_id}] succeeded", timeout=WAIT)
        done = snippets_of(poll)
        tags = sorted(PollTag.objects.filter(poll=poll).values_list("label", "score"))

        again = send(private_redis.url, TASK, poll.pk)
        second.wait_for_log(f"{TASK}[{again}] succeeded", timeout=WAIT)
        after_again = snippets_of(poll)
        tags_again = sorted(PollTag.objects.filter(poll=poll).values_list("label", "score"))
        left = unacked(broker), broker.llen("celery")
    finally:
        locker.close()
        first.kill()
        second.stop()

    with capsys.disabled():
        print(
            f"\n[celery kill -9] task redelivered after {redelivered:.1f} s, ran to completion "
            f"once (visibility timeout {VISIBILITY} s; {len(done)} snippets, "
            f"{len(tags)} tags, unchanged by a second run)"
        )
    assert second.log().count(f"{TASK}[{task_id}] succeeded") == 1
    assert sorted((kind, source) for _, kind, source, _ in done) == wanted, "one snippet per text"
    assert 1 <= len(tags) <= 3
    assert len({label for label, _ in tags}) == len(tags)
    assert after_again == done, "running the task twice leaves the same rows"
    assert tags_again == tags
    assert left == ({}, 0), "nothing is left to run a third time"
    assert redelivered <= REDELIVERY


def test_beat_killed_and_restarted_keeps_the_schedule(on_postgres, private_redis, tmp_path):
    """kill -9 of celery beat: while it is down a due poll stays open; started again on the
    same schedule file, it fires close-due-polls again and the worker closes the poll."""
    env = worker_env(private_redis.url)
    schedule = tmp_path / "beat-schedule"
    broker = redis.Redis.from_url(private_redis.url)
    worker = celery_worker("worker", env=env, log_dir=tmp_path)
    beat = celery_beat("beat", env=env, log_dir=tmp_path, schedule=schedule)
    restarted = celery_beat("beat-again", env=env, log_dir=tmp_path, schedule=schedule)
    sent = "Sending due task close-due-polls"
    try:
        worker.start()
        worker.wait_for_log(" ready.", timeout=WAIT)
        beat.start()
        beat.wait_for_log(sent, timeout=WAIT)
        beat.kill()
        until(
            lambda: broker.llen("celery") == 0 and not unacked(broker),
            "the worker never ran what the first beat had sent",
        )

        poll = PollFactory()
        Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
        # Longer than the 5 s period of close-due-polls: with no beat, nothing closes it.
        time.sleep(7)
        poll.refresh_from_db()
        assert poll.closed_at is None

        restarted.start()
        restarted.wait_for_log(sent, timeout=WAIT)
        until(
            lambda: Poll.objects.filter(pk=poll.pk, closed_at__isnull=False).exists(),
            "the restarted beat never got the due poll closed",
        )
    finally:
        beat.kill()
        restarted.kill()
        worker.stop()
    poll.refresh_from_db()
    assert poll.closed_at == poll.closes_at
