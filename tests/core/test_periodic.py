"""Periodic work: the beat schedule, and a server without a broker running it itself."""

import asyncio
import logging
import time
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from django.utils.module_loading import import_string

from config.asgi import application
from core import periodic
from notifications.models import Kind, Notification
from polls.models import Poll
from tests.helpers import receive_until
from tests.polls.factories import PollFactory
from tests.server import run_daphne

DEADLINE = 60


def test_schedule_names_real_tasks():
    """Every entry of the beat schedule is a task that exists, with a positive interval."""
    intervals = periodic.schedule_intervals()

    assert set(intervals) == {
        "polls.tasks.close_due_polls",
        "notifications.tasks.flush_vote_batches",
        "notifications.tasks.send_held_emails",
        "core.tasks.purge_expired",
    }
    for path, seconds in intervals.items():
        assert seconds > 0
        assert import_string(path).name == path


def test_vote_flush_runs_at_least_once_per_window(settings):
    """A short batch window is flushed about as often as it lasts."""
    assert settings.CELERY_BEAT_SCHEDULE["flush-vote-batches"]["schedule"] <= max(
        1, settings.NOTIFY_VOTE_BATCH_SECONDS
    )


@pytest.mark.django_db(transaction=True)
def test_due_tasks_run_and_are_booked_again():
    """A due task runs in the calling thread and its next run is one interval later."""
    poll = PollFactory(closes_at=timezone.now() - timedelta(seconds=1))
    intervals = {"polls.tasks.close_due_polls": 5.0}
    next_runs = {"polls.tasks.close_due_polls": 100.0}

    periodic.run_due_tasks(next_runs, intervals, now=99.0)  # not due yet
    poll.refresh_from_db()
    assert poll.closed_at is None

    periodic.run_due_tasks(next_runs, intervals, now=100.0)
    poll.refresh_from_db()
    assert poll.closed_at is not None
    assert next_runs["polls.tasks.close_due_polls"] == 105.0


def test_scheduler_stays_off_with_a_broker(settings):
    """With a broker, Celery beat does the scheduling: the server starts no thread."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.PERIODIC_TASKS_IN_PROCESS = True

    assert periodic.start_in_process() is False


@pytest.mark.django_db(transaction=True)
def test_server_without_broker_closes_polls_and_notifies(tmp_path, django_user_model, monkeypatch):
    """With no broker the server itself closes a poll at its close time and tells the owner."""
    owner = django_user_model.objects.create_user(username="closer", password="x" * 20)
    poll = PollFactory(
        question="Closing soon?", owner=owner, closes_at=timezone.now() + timedelta(seconds=2)
    )
    # The site's own defaults: local settings, no broker, no scheduling variable set.
    embedded = {"REDIS_URL": "", "DJANGO_SETTINGS_MODULE": "config.settings.local"}

    monkeypatch.delenv("PERIODIC_TASKS_IN_PROCESS", raising=False)
    notices = Notification.objects.filter(recipient=owner, kind=Kind.CLOSED)
    with run_daphne(log_dir=tmp_path, env=embedded) as server:
        end = time.monotonic() + DEADLINE
        # The owner is told once the close has committed, a moment after it.
        while not notices.exists():
            assert time.monotonic() < end, f"the owner was not told:\n{server.log_tail()}"
            time.sleep(0.2)

    closed = Poll.objects.get(pk=poll.pk)
    assert closed.closed_at == poll.closes_at
    assert list(notices.values_list("text", flat=True)) == [
        "“Closing soon?” closed. No votes were cast."
    ]


@pytest.mark.django_db(transaction=True)
async def test_periodic_close_from_its_thread_reaches_open_pages():
    """A poll closed by the scheduler's thread pushes its final tally to open pages."""
    poll = await database_sync_to_async(PollFactory)(closes_at=timezone.now() + timedelta(days=1))
    communicator = WebsocketCommunicator(
        application, f"/ws/poll/{poll.code}/", headers=[(b"origin", b"http://testserver")]
    )
    assert (await communicator.connect())[0]
    assert "final results" not in await communicator.receive_from(timeout=10)
    await database_sync_to_async(Poll.objects.filter(pk=poll.pk).update)(
        closes_at=timezone.now() - timedelta(seconds=1)
    )

    intervals = {"polls.tasks.close_due_polls": 5.0}
    await asyncio.to_thread(periodic.run_due_tasks, dict.fromkeys(intervals, 0.0), intervals, 1.0)

    await receive_until(communicator, lambda html: "final results" in html)
    closed = await database_sync_to_async(Poll.objects.get)(pk=poll.pk)
    assert closed.closed_at is not None
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
def test_periodic_work_logs_only_when_it_did_something(caplog):
    """Idle rounds of the schedule write nothing to the log; a round that closes a poll
    says so once."""
    intervals = periodic.schedule_intervals()
    periodic.run_due_tasks(dict.fromkeys(intervals, 0.0), intervals, time.monotonic())
    caplog.set_level(logging.INFO)
    caplog.clear()  # from here on nothing is left to do
    for _ in range(3):
        periodic.run_due_tasks(dict.fromkeys(intervals, 0.0), intervals, time.monotonic())
    assert [record.getMessage() for record in caplog.records] == []

    poll = PollFactory(closes_at=timezone.now() + timedelta(minutes=5))
    Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    periodic.run_due_tasks(dict.fromkeys(intervals, 0.0), intervals, time.monotonic())
    assert [record.getMessage() for record in caplog.records] == [
        "Closed 1 poll(s) at their close time"
    ]
