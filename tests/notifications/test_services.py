"""Each kind of notification is created when its event happens, as preferences allow."""

import time as time_module
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from chat import services as chat_services
from notifications import services
from notifications.models import Kind, Notification, VoteBatch
from polls import services as poll_services
from tests.notifications.conftest import cast, texts, wait_for_mail
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db(transaction=True)


def pass_window(poll) -> None:
    """Move the poll's last vote notice back past the batch window."""
    VoteBatch.objects.filter(poll=poll).update(notified_at=timezone.now() - timedelta(seconds=61))


def wait_for_email_state(state, deadline: float = 20.0) -> None:
    end = time_module.monotonic() + deadline
    while not Notification.objects.filter(email=state).exists():
        assert time_module.monotonic() < end, f"no notification reached email state {state}"
        time_module.sleep(0.05)


def reported_votes(user) -> int:
    """The sum of the counts in the user's "N new votes" notices."""
    return sum(int(text.split()[0]) for text in texts(user, Kind.VOTES))


def test_first_vote_notifies_owner_at_once(owner, owned_poll, batch_window):
    """The first vote on a poll reaches its owner straight away."""
    cast(owned_poll)

    assert texts(owner) == ["1 new vote on “Lunch spot?”"]
    notification = Notification.objects.get(recipient=owner)
    assert notification.poll == owned_poll
    assert notification.url == owned_poll.get_absolute_url()
    assert not notification.is_read


def test_votes_within_window_wait_for_one_batched_notice(owner, owned_poll, batch_window):
    """Votes inside the window become one "N new votes" notice once it has passed."""
    cast(owned_poll)
    for _ in range(11):
        cast(owned_poll)
    assert texts(owner) == ["1 new vote on “Lunch spot?”"]

    pass_window(owned_poll)
    assert services.vote_batches_flush_due() == 1

    assert texts(owner) == ["1 new vote on “Lunch spot?”", "11 new votes on “Lunch spot?”"]
    assert services.vote_batches_flush_due() == 0  # nothing new: no empty notice


def test_batched_counts_add_up_to_every_vote(owner, owned_poll, batch_window):
    """Across many windows every vote is reported exactly once."""
    cast_count = 0
    for window_votes in (3, 1, 7, 2):
        for _ in range(window_votes):
            cast(owned_poll)
            cast_count += 1
        pass_window(owned_poll)
        cache.clear()  # the cache's window gate expires with the window
        services.vote_batches_flush_due()

    assert reported_votes(owner) == cast_count == 13
    assert len(texts(owner, Kind.VOTES)) <= 2 * 4  # at most one per window (plus the first)


def test_window_is_a_setting(owner, owned_poll, settings):
    """With a zero-length window each vote is reported as it arrives."""
    settings.NOTIFY_VOTE_BATCH_SECONDS = 0
    cast(owned_poll)
    services.vote_batches_flush_due()
    cast(owned_poll)
    services.vote_batches_flush_due()

    assert reported_votes(owner) == 2


def test_polls_without_owner_notify_nobody(batch_window):
    """A poll created anonymously has nobody to notify."""
    poll = PollFactory()
    cast(poll, comment="Nice")
    poll_services.poll_close(poll=poll)

    assert Notification.objects.count() == 0


def test_comment_notifies_owner_with_its_text(owner, owned_poll, make_user):
    """A vote with a comment tells the owner what was said."""
    cast(owned_poll, comment="Pizza,   obviously!")

    assert texts(owner, Kind.COMMENT) == ["New comment on “Lunch spot?”: “Pizza, obviously!”"]
    assert Notification.objects.get(kind=Kind.COMMENT).url.endswith("#comments")


def test_owner_is_not_told_of_their_own_comment(owner, owned_poll):
    """Owners do not get notified about what they wrote themselves."""
    cast(owned_poll, comment="My own take", user=owner)

    assert texts(owner, Kind.COMMENT) == []


def test_close_notifies_owner_with_winner(owner, owned_poll, batch_window):
    """Closing a poll tells its owner who won, after reporting the votes still pending."""
    cast(owned_poll, option=1)
    cast(owned_poll, option=1)
    cast(owned_poll, option=0)

    assert poll_services.poll_close(poll=owned_poll)

    assert reported_votes(owner) == 3  # the two pending votes were reported first
    assert texts(owner, Kind.CLOSED) == [
        "“Lunch spot?” closed. Winner: “Sushi” with 2 votes of 3 (66.7%)."
    ]
    assert not poll_services.poll_close(poll=owned_poll)  # already closed: no second notice
    assert len(texts(owner, Kind.CLOSED)) == 1


def test_close_names_a_tie_and_an_empty_poll(owner, make_user):
    """A tie names every leader; a poll without votes says so."""
    tied = PollFactory(question="Tie?", options=["A", "B"], owner=owner)
    cast(tied, option=0)
    cast(tied, option=1)
    empty = PollFactory(question="Empty?", owner=owner)

    poll_services.poll_close(poll=tied)
    poll_services.poll_close(poll=empty)

    assert texts(owner, Kind.CLOSED) == [
        "“Tie?” closed. Tie between: “A” and “B” with 1 vote of 2 (50%).",
        "“Empty?” closed. No votes were cast.",
    ]


def test_periodic_close_closes_due_polls_once(owner):
    """Polls past their close time are closed at that time, and the owner hears it once."""
    closes_at = timezone.now() - timedelta(seconds=3)
    due = PollFactory(question="Due?", owner=owner, closes_at=closes_at)
    later = PollFactory(question="Later?", owner=owner, closes_at=timezone.now() + timedelta(1))

    assert poll_services.polls_close_due() == 1
    assert poll_services.polls_close_due() == 0

    due.refresh_from_db()
    later.refresh_from_db()
    assert due.closed_at == closes_at
    assert later.closed_at is None
    assert texts(owner, Kind.CLOSED) == ["“Due?” closed. No votes were cast."]


def test_question_asked_notifies_owner(owner, owned_poll, make_user):
    """A question asked of the poll reaches its owner; their own questions do not."""
    asker = make_user()
    chat_services.question_record(poll_id=owned_poll.pk, question="Why   sushi?", asker_id=asker.pk)
    chat_services.question_record(poll_id=owned_poll.pk, question="Mine", asker_id=owner.pk)
    chat_services.question_record(poll_id=owned_poll.pk, question="Anon?", asker_id=None)

    assert texts(owner, Kind.ASKED) == [
        "Someone asked “Lunch spot?”: “Why sushi?”",
        "Someone asked “Lunch spot?”: “Anon?”",
    ]


def test_in_app_off_keeps_kind_out_of_the_bell(owner, owned_poll):
    """A kind switched off in the app is not shown, and nothing is stored if email is off too."""
    services.preferences_update(user_id=owner.pk, comment_in_app=False)
    cast(owned_poll, comment="Hidden")

    assert Notification.objects.filter(kind=Kind.COMMENT).count() == 0
    assert texts(owner, Kind.VOTES) == ["1 new vote on “Lunch spot?”"]


def test_email_goes_out_with_subject_and_links(owner, owned_poll, settings, celery_worker):
    """A kind with email on is mailed to the owner with links back to the poll."""
    settings.SITE_URL = "https://tally.example"
    services.preferences_update(user_id=owner.pk, comment_email=True, comment_in_app=False)

    cast(owned_poll, comment="Tacos all the way")

    assert len(wait_for_mail(1)) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@example.com"]
    assert message.subject == "New comment on “Lunch spot?”: “Tacos all the way”"
    assert f"https://tally.example{owned_poll.get_absolute_url()}#comments" in message.body
    assert "https://tally.example/notifications/settings" in message.body
    wait_for_email_state(Notification.Email.SENT)
    notification = Notification.objects.get(kind=Kind.COMMENT)
    assert notification.emailed_at is not None
    assert not notification.in_app  # emailed only, not in the bell


def test_email_is_off_by_default_for_votes(owner, owned_poll, celery_worker):
    """Vote notices are not emailed unless asked for; a poll's close is."""
    cast(owned_poll)
    poll_services.poll_close(poll=owned_poll)

    assert [message.subject for message in wait_for_mail(1)] == [
        "“Lunch spot?” closed. Winner: “Pizza” with 1 vote of 1 (100%)."
    ]


def quiet_all_day(owner) -> None:
    now = timezone.now().astimezone(ZoneInfo("Europe/Paris"))
    start = (now - timedelta(hours=1)).time().replace(microsecond=0)
    end = (now + timedelta(hours=1)).time().replace(microsecond=0)
    services.preferences_update(
        user_id=owner.pk, quiet_start=start, quiet_end=end, timezone="Europe/Paris"
    )


def test_quiet_hours_hold_emails_until_they_end(owner):
    """In quiet hours the email waits; once they are over it goes out."""
    quiet_all_day(owner)
    poll = PollFactory(question="Quiet?", owner=owner)
    poll_services.poll_close(poll=poll)

    assert mail.outbox == []
    assert Notification.objects.get(kind=Kind.CLOSED).email == Notification.Email.PENDING
    assert services.held_emails_send() == 0  # still quiet

    services.preferences_update(user_id=owner.pk, quiet_start=None, quiet_end=None)
    assert services.held_emails_send() == 1

    assert [message.subject for message in mail.outbox] == ["“Quiet?” closed. No votes were cast."]
    assert services.held_emails_send() == 0  # sent once only


def test_daily_email_cap(owner, celery_worker):
    """Past the daily cap, emails stop; the notifications are still in the bell."""
    services.preferences_update(user_id=owner.pk, emails_per_day=2)
    for number in range(3):
        poll_services.poll_close(poll=PollFactory(question=f"Cap {number}?", owner=owner))
        assert len(wait_for_mail(min(number + 1, 2))) == min(number + 1, 2)
    wait_for_email_state(Notification.Email.CAPPED)

    assert len(mail.outbox) == 2
    states = list(
        Notification.objects.filter(kind=Kind.CLOSED).order_by("id").values_list("email", flat=True)
    )
    assert states == ["sent", "sent", "capped"]
    assert Notification.objects.filter(kind=Kind.CLOSED, in_app=True).count() == 3


@pytest.mark.parametrize(
    ("start", "end", "local", "quiet"),
    [
        (time(22), time(7), time(23, 30), True),
        (time(22), time(7), time(6, 59), True),
        (time(22), time(7), time(7, 0), False),
        (time(22), time(7), time(12), False),
        (time(9), time(17), time(12), True),
        (time(9), time(17), time(8), False),
    ],
)
def test_quiet_hours_window(owner, start, end, local, quiet):
    """Quiet hours are read in the user's time zone and may wrap past midnight."""
    preferences = services.preferences_update(
        user_id=owner.pk, quiet_start=start, quiet_end=end, timezone="America/New_York"
    )
    moment = datetime.combine(datetime(2026, 1, 15), local, tzinfo=ZoneInfo("America/New_York"))

    assert services.in_quiet_hours(preferences=preferences, now=moment) is quiet
