"""Opens by source: queued by the request, written in batches off the request path."""

import time
from unittest import mock

import pytest
from django.conf import settings

from analytics import queue, services, tasks
from analytics.models import Open
from tests.faults.services import celery_worker
from tests.helpers import open_browser
from tests.polls.factories import PollFactory
from tests.server import daphne_env

BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/131.0 Safari/537.36"
)
CRAWLERS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "WhatsApp/2.23.20.0",
    "Twitterbot/1.0",
    "curl/8.5.0",
    "",
]
# With a broker the batch goes through a real worker, which may first run tasks other
# tests queued: a longer deadline, not a sleep.
WRITE_DEADLINE = 60.0 if settings.REDIS_URL else 15.0


@pytest.fixture
def opens_writer(django_db_setup, tmp_path):
    """Whatever writes the batches: on the embedded default the web process's own flusher
    thread; with REDIS_URL, a Celery worker on the test database, as in production."""
    if not settings.REDIS_URL:
        yield
        return
    worker = celery_worker("opens", env=daphne_env(), log_dir=tmp_path)
    worker.start()
    try:
        worker.wait_for_log("ready.")
        yield
    finally:
        worker.stop()


def opens_json(owner, poll) -> dict:
    response = owner.get(f"/poll/{poll.code}/analytics", headers={"Accept": "application/json"})
    assert response.status_code == 200
    return response.json()["opens"]


def wait_for_opens(owner, poll, expected: dict) -> dict:
    """The owner's opens once the background writer has caught up (fails at the deadline)."""
    deadline = time.monotonic() + WRITE_DEADLINE
    while True:
        opens = opens_json(owner, poll)
        if opens == expected or time.monotonic() > deadline:
            return opens
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_opens_are_counted_by_source_once_the_batch_is_written(signed_in, user, opens_writer):
    """3 link opens, 2 QR scans and 1 embed load read 3/2/1 after the background write."""
    poll = PollFactory(owner=user)
    visitor = open_browser()
    for _ in range(3):
        assert visitor.get(f"/poll/{poll.code}", headers={"User-Agent": BROWSER}).status_code == 200
    for _ in range(2):
        qr = visitor.get(f"/poll/{poll.code}?src=qr", headers={"User-Agent": BROWSER})
        assert qr.status_code == 200
    assert (
        visitor.get(f"/poll/{poll.code}/embed", headers={"User-Agent": BROWSER}).status_code == 200
    )
    assert wait_for_opens(signed_in, poll, {"link": 3, "qr": 2, "embed": 1}) == {
        "link": 3,
        "qr": 2,
        "embed": 1,
    }
    assert not any("ip" in field.name for field in Open._meta.get_fields())


@pytest.mark.django_db
@pytest.mark.parametrize("agent", CRAWLERS)
def test_crawlers_and_unfurlers_are_not_opens(poll, agent):
    response = open_browser().get(f"/poll/{poll.code}", headers={"User-Agent": agent})
    assert response.status_code == 200
    embed = open_browser().get(f"/poll/{poll.code}/embed", headers={"User-Agent": agent})
    assert embed.status_code == 200
    assert queue.queued() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [{"Purpose": "prefetch"}, {"Sec-Purpose": "prefetch"}, {"Sec-Purpose": "prefetch;prerender"}],
)
def test_prefetches_are_not_opens(poll, headers):
    response = open_browser().get(f"/poll/{poll.code}", headers={"User-Agent": BROWSER, **headers})
    assert response.status_code == 200
    assert queue.queued() == 0


@pytest.mark.django_db
def test_live_polling_of_the_tally_and_missing_polls_are_not_opens(poll):
    """The tally fragment polled every few seconds and a 404 are not someone opening it."""
    browser = open_browser()
    fragment = browser.get(
        f"/poll/{poll.code}", headers={"User-Agent": BROWSER, "HX-Request": "true"}
    )
    assert fragment.status_code == 200
    assert browser.get("/poll/nosuchpoll", headers={"User-Agent": BROWSER}).status_code == 404
    assert (
        browser.get(f"/poll/{poll.code}/share", headers={"User-Agent": BROWSER}).status_code == 200
    )
    assert queue.queued() == 0


@pytest.mark.django_db
def test_the_page_answers_when_queueing_an_open_fails(poll):
    with mock.patch.object(queue, "record_open", side_effect=RuntimeError("queue broken")):
        response = open_browser().get(f"/poll/{poll.code}", headers={"User-Agent": BROWSER})
    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_page_answers_while_writing_opens_fails(poll, caplog):
    """The writer failing (the database, or the broker it hands batches to) costs the opens
    of that batch, never the page."""
    with (
        mock.patch.object(services, "opens_write", side_effect=RuntimeError("database gone")),
        mock.patch.object(tasks.write_opens, "delay", side_effect=RuntimeError("broker gone")),
    ):
        for _ in range(2):
            response = open_browser().get(f"/poll/{poll.code}", headers={"User-Agent": BROWSER})
            assert response.status_code == 200
        deadline = time.monotonic() + WRITE_DEADLINE
        while "Could not record" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "Could not record 2 opens" in caplog.text or "Could not record 1 opens" in caplog.text
    assert Open.objects.count() == 0


@pytest.mark.django_db
def test_with_a_broker_a_batch_goes_to_one_celery_task(settings, poll):
    """In production the web process hands each batch to the worker as one task."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    for source in ["link", "link", "qr", "embed"]:
        queue._queue.append((poll.code, source, time.time()))
    with mock.patch.object(tasks.write_opens, "delay") as delay:
        assert queue.flush() == 4
    assert delay.call_count == 1
    (rows,) = delay.call_args.args
    assert [row[:2] for row in rows] == [
        [poll.code, "link"],
        [poll.code, "link"],
        [poll.code, "qr"],
        [poll.code, "embed"],
    ]
    tasks.write_opens.run(rows)
    assert Open.objects.filter(poll=poll, source="link").count() == 2
    assert Open.objects.filter(poll=poll).count() == 4


@pytest.mark.django_db
def test_opens_of_deleted_polls_and_unknown_sources_are_left_out(poll):
    now = time.time()
    kept = services.opens_write(
        rows=[(poll.code, "qr", now), ("gone000000", "link", now), (poll.code, "fax", now)]
    )
    assert kept == 1
    assert list(Open.objects.values_list("source", flat=True)) == ["qr"]
