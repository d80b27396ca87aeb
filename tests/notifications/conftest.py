"""Fixtures for the bell: an owner with a poll, and votes cast through the real service."""

import itertools
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from chat import tasks as chat_tasks
from config.celery import app as celery_app
from core.voters import Voter, new_voter_token
from notifications.models import Notification, Preferences
from polls import services as poll_services
from tests.polls.factories import PollFactory

_users = itertools.count(1)


@pytest.fixture
def make_user(django_user_model):
    """A user; their email counts as confirmed unless verified=False."""

    def make(*, verified: bool = True, **fields):
        number = next(_users)
        fields.setdefault("username", f"person{number}")
        fields.setdefault("email", f"person{number}@example.com")
        user = django_user_model.objects.create_user(password="a long passphrase 42", **fields)
        if verified and user.email:
            Preferences.objects.update_or_create(user=user, defaults={"verified_email": user.email})
        return user

    return make


@pytest.fixture
def owner(make_user):
    return make_user(username="owner", email="owner@example.com")


@pytest.fixture
def owned_poll(owner):
    return PollFactory(question="Lunch spot?", options=["Pizza", "Sushi", "Tacos"], owner=owner)


@pytest.fixture
def batch_window(settings):
    """A one-minute vote window, so that tests decide when it has passed."""
    settings.NOTIFY_VOTE_BATCH_SECONDS = 60
    return 60


@pytest.fixture(autouse=True)
def _empty_outbox():
    mail.outbox = []


@pytest.fixture
def celery_worker(monkeypatch):
    """Run tasks through Celery as the site does: a real worker thread consuming the Redis
    broker when one is configured, in the caller on the embedded default.

    Embedding tasks are left out so that the worker runs only the tasks under test.
    """
    monkeypatch.setattr(chat_tasks, "queue_poll_embedding", lambda poll_id: None)
    monkeypatch.setattr(chat_tasks, "queue_comment_embedding", lambda ballot_id: None)
    if celery_app.conf.task_always_eager:
        yield None
        return
    celery_app.control.purge()  # tasks left queued by earlier tests
    with start_worker(
        celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING"
    ) as worker:
        yield worker


def wait_for_mail(count: int, deadline: float = 20.0) -> list:
    """Wait until count emails were sent (a worker may still be at it); return them."""
    end = time.monotonic() + deadline
    while len(mail.outbox) < count and time.monotonic() < end:
        time.sleep(0.05)
    return mail.outbox


def cast(poll, *, option: int = 0, comment: str = "", user=None):
    """Cast one vote from a new browser (or as user) on the poll's option at that index."""
    option_ids = list(poll.options.values_list("pk", flat=True))
    voter = Voter(token=new_voter_token(), ip="127.0.0.1", user_id=user.pk if user else None)
    outcome = poll_services.vote_cast(
        poll=poll, voter=voter, option_ids=[option_ids[option]], comment=comment
    )
    assert outcome.result == poll_services.VoteResult.ACCEPTED
    return outcome


def texts(user, kind=None) -> list[str]:
    found = Notification.objects.filter(recipient=user)
    if kind:
        found = found.filter(kind=kind)
    return list(found.order_by("created_at", "id").values_list("text", flat=True))
