"""Retention: old idempotency records, expired sessions and long-read notifications go."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from core import fulltext, retention
from notifications.models import Notification
from polls.models import IdempotentVote, Poll
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db


def test_the_purge_is_on_the_beat_schedule():
    """Celery beat (and the in-process scheduler) run the purge every hour."""
    tasks = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks["core.tasks.purge_expired"] == 3600.0


def test_purge_removes_only_what_has_expired(user):
    """Old records go; recent ones, unread notifications and live sessions stay."""
    now = timezone.now()
    old = IdempotentVote.objects.create(key="a" * 64, outcome="accepted", record={})
    recent = IdempotentVote.objects.create(key="b" * 64, outcome="accepted", record={})
    IdempotentVote.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=3))

    def notification(**fields):
        return Notification.objects.create(recipient=user, kind="votes", text="x", **fields)

    read_long_ago = notification(read_at=now - timedelta(days=120))
    read_lately = notification(read_at=now - timedelta(days=2))
    unread = notification()

    expired, live = SessionStore(), SessionStore()
    expired.create()
    live.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=now - timedelta(days=1)
    )

    removed = retention.purge_expired()

    assert removed["polls.retention.idempotent_votes_purge"] == 1
    assert list(IdempotentVote.objects.values_list("pk", flat=True)) == [recent.pk]
    remaining = set(Notification.objects.values_list("pk", flat=True))
    assert remaining == {read_lately.pk, unread.pk}
    assert read_long_ago.pk not in remaining
    assert not Session.objects.filter(session_key=expired.session_key).exists()
    assert Session.objects.filter(session_key=live.session_key).exists()
    assert retention.purge_expired()["polls.retention.idempotent_votes_purge"] == 0


def test_purge_prunes_index_rows_of_polls_gone(db):
    """A poll deleted behind the services' back leaves no full-text row after the purge."""
    poll = PollFactory(question="Ephemeral marmalade?")
    Poll.objects.filter(pk=poll.pk).delete()
    assert poll.pk in fulltext.indexed_ids(kind="poll")
    retention.purge_expired()
    assert poll.pk not in fulltext.indexed_ids(kind="poll")
