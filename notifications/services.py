"""Writes: creating notifications from poll events, reading them, preferences and email.

Every notification is created by notification_create, which applies the recipient's
preferences, and once committed pushes the new unread count (and a toast, outside quiet
hours) to every open tab of that user and queues its email.
"""

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import Truncator

from core.voters import Voter
from notifications import live
from notifications.models import Kind, Notification, Preferences, VoteBatch
from polls.models import Poll
from polls.selectors import poll_tally, poll_vote_counts
from polls.visibility import poll_visible_to

logger = logging.getLogger(__name__)

# Emails held back by quiet hours are sent once these end; older ones are dropped.
HELD_EMAIL_MAX_AGE = timedelta(days=2)


def preferences_for(*, user_id: int) -> Preferences:
    preferences, _ = Preferences.objects.get_or_create(user_id=user_id)
    return preferences


def in_quiet_hours(*, preferences: Preferences, now: datetime | None = None) -> bool:
    """True while the user's quiet hours run (a window may wrap past midnight)."""
    start, end = preferences.quiet_start, preferences.quiet_end
    if start is None or end is None or start == end:
        return False
    local = (now or timezone.now()).astimezone(ZoneInfo(preferences.timezone)).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end


def notification_create(
    *, recipient_id: int, kind: Kind, text: str, poll=None, url: str = ""
) -> Notification | None:
    """Store a notification as the recipient's preferences ask; None if they want neither,
    or if the poll is one they may no longer reach (a circle's, after they left it)."""
    if poll is not None and not poll_visible_to(
        poll=poll, voter=Voter(token="", ip="", user_id=recipient_id)
    ):
        return None
    preferences = preferences_for(user_id=recipient_id)
    in_app = preferences.wants_in_app(kind)
    email = preferences.wants_email(kind)
    if not in_app and not email:
        return None
    notification = Notification.objects.create(
        recipient_id=recipient_id,
        kind=kind,
        poll=poll,
        text=Truncator(text).chars(300),
        url=url or (poll.get_absolute_url() if poll is not None else ""),
        in_app=in_app,
        email=Notification.Email.PENDING if email else Notification.Email.NONE,
    )
    quiet = in_quiet_hours(preferences=preferences)

    def announce():
        if in_app:
            live.push_unread_count(recipient_id, toast_for=None if quiet else notification)
        if email and not quiet:
            from notifications import tasks  # tasks import this module

            tasks.send_notification_email.delay(notification.pk)

    transaction.on_commit(announce, robust=True)
    return notification


# Poll events


def _poll_title(poll) -> str:
    return "“" + Truncator(poll.question).chars(80) + "”"


def _quote(text: str) -> str:
    """What someone wrote, on one line and short enough for a notification."""
    return "“" + Truncator(" ".join(text.split())).chars(120) + "”"


def vote_batch_flush(*, poll, force: bool = False) -> Notification | None:
    """Tell the owner how many votes arrived since last time, at most once per window.

    force skips the window (used when the poll closes, so the count is complete).
    """
    if poll.owner_id is None:
        return None
    window = timedelta(seconds=settings.NOTIFY_VOTE_BATCH_SECONDS)
    with transaction.atomic():
        VoteBatch.objects.get_or_create(poll_id=poll.pk)
        batch = VoteBatch.objects.select_for_update().get(poll_id=poll.pk)
        now = timezone.now()
        if not force and batch.notified_at is not None and now - batch.notified_at < window:
            return None
        ballots = poll_vote_counts(poll_ids=[poll.pk])[poll.pk]
        new_votes = ballots - batch.notified_ballots
        if new_votes <= 0:
            if new_votes < 0:  # votes were withdrawn: later ones must still be reported
                batch.notified_ballots = ballots
                batch.save(update_fields=["notified_ballots"])
            return None
        batch.notified_ballots = ballots
        batch.notified_at = now
        batch.save(update_fields=["notified_ballots", "notified_at"])
        noun = "vote" if new_votes == 1 else "votes"
        return notification_create(
            recipient_id=poll.owner_id,
            kind=Kind.VOTES,
            poll=poll,
            text=f"{new_votes} new {noun} on {_poll_title(poll)}",
        )


def votes_withdrawn(*, poll) -> None:
    """After a withdrawal: lower the batch's mark to the ballots left, so the votes that
    come next are reported as new. A change of vote touches no count and is not heard."""
    ballots = poll_vote_counts(poll_ids=[poll.pk])[poll.pk]
    VoteBatch.objects.filter(poll_id=poll.pk, notified_ballots__gt=ballots).update(
        notified_ballots=ballots
    )


def votes_arrived(*, poll) -> None:
    """After a vote commits: notify now if this poll's window is free, else leave it
    to the periodic flush. The cache gate keeps most votes from touching the batch row."""
    if poll.owner_id is None:
        return
    window = settings.NOTIFY_VOTE_BATCH_SECONDS
    if cache.add(f"notify-votes:{poll.pk}", 1, timeout=max(1, window)):
        vote_batch_flush(poll=poll)


def vote_batches_flush_due() -> int:
    """Flush every poll whose window has passed with votes not yet reported."""
    cutoff = timezone.now() - timedelta(seconds=settings.NOTIFY_VOTE_BATCH_SECONDS)
    reported = dict(
        VoteBatch.objects.filter(notified_at__lte=cutoff, poll__owner__isnull=False).values_list(
            "poll_id", "notified_ballots"
        )
    )
    ballots = poll_vote_counts(poll_ids=list(reported))
    behind = [poll_id for poll_id, count in reported.items() if ballots[poll_id] > count]
    flushed = 0
    for poll in Poll.objects.filter(pk__in=behind):
        if vote_batch_flush(poll=poll) is not None:
            flushed += 1
    return flushed


def comment_posted(*, poll, comment: str, author_id: int | None) -> Notification | None:
    """Tell the owner about a new comment (not their own)."""
    if poll.owner_id is None or author_id == poll.owner_id or not comment.strip():
        return None
    return notification_create(
        recipient_id=poll.owner_id,
        kind=Kind.COMMENT,
        poll=poll,
        text=f"New comment on {_poll_title(poll)}: {_quote(comment)}",
        url=poll.get_absolute_url() + "#comments",
    )


def poll_moderated(*, poll, hidden: bool, reason: str = "") -> Notification | None:
    """Tell the owner moderators hid their poll (and why) or put it back."""
    if poll.owner_id is None:
        return None
    if hidden:
        text = (
            f"{_poll_title(poll)} was hidden by moderators: {reason.rstrip('.')}."
            " Only you can see it now."
        )
    else:
        text = f"{_poll_title(poll)} is visible again: moderators restored it."
    return notification_create(
        recipient_id=poll.owner_id, kind=Kind.MODERATED, poll=poll, text=text
    )


def poll_closed(*, poll) -> Notification | None:
    """Tell the owner their poll closed and who won; first report any votes still pending."""
    if poll.owner_id is None:
        return None
    vote_batch_flush(poll=poll, force=True)
    tally = poll_tally(poll=poll)
    if tally.total_votes == 0:
        outcome = "No votes were cast."
    else:
        leaders = [o for o in tally.options if o.votes == tally.leading_votes]
        names = " and ".join("“" + Truncator(o.text).chars(60) + "”" for o in leaders)
        label = "Winner" if len(leaders) == 1 else "Tie between"
        noun = "vote" if tally.leading_votes == 1 else "votes"
        outcome = (
            f"{label}: {names} with {tally.leading_votes} {noun}"
            f" of {tally.total_votes} ({leaders[0].percentage:g}%)."
        )
    return notification_create(
        recipient_id=poll.owner_id,
        kind=Kind.CLOSED,
        poll=poll,
        text=f"{_poll_title(poll)} closed. {outcome}",
    )


def question_asked(*, poll, question: str, asker_id: int | None) -> Notification | None:
    """Tell the owner that someone asked their poll a question (not themselves)."""
    if poll.owner_id is None or asker_id == poll.owner_id:
        return None
    return notification_create(
        recipient_id=poll.owner_id,
        kind=Kind.ASKED,
        poll=poll,
        text=f"Someone asked {_poll_title(poll)}: {_quote(question)}",
        url=poll.get_absolute_url() + "#ask",
    )


# Reading


def circle_notifications_drop(*, circle_id: int, user_id: int) -> int:
    """Delete a former member's notifications about the circle's polls (links now 404)."""
    deleted, _ = Notification.objects.filter(
        recipient_id=user_id, poll__circle_id=circle_id
    ).delete()
    return deleted


def notification_mark_read(*, user_id: int, notification_id: int) -> bool:
    """Mark one of the user's notifications read; False if it is not theirs or was read."""
    with transaction.atomic():
        changed = Notification.objects.filter(
            pk=notification_id, recipient_id=user_id, read_at__isnull=True
        ).update(read_at=timezone.now())
        transaction.on_commit(lambda: live.push_unread_count(user_id), robust=True)
    return bool(changed)


def notifications_mark_all_read(*, user_id: int) -> int:
    """Mark every unread notification of the user read; returns how many were."""
    with transaction.atomic():
        changed = Notification.objects.filter(recipient_id=user_id, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        transaction.on_commit(lambda: live.push_unread_count(user_id), robust=True)
    return changed


def preferences_update(*, user_id: int, **fields) -> Preferences:
    preferences = preferences_for(user_id=user_id)
    for name, value in fields.items():
        setattr(preferences, name, value)
    preferences.save()
    return preferences


# Email


def notification_email_send(*, notification_id: int) -> Notification.Email | None:
    """Send a pending notification's email unless quiet hours hold it or the cap is hit.

    Returns the notification's email state afterwards; None if there is nothing to send.
    """
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .select_related("recipient")
            .filter(pk=notification_id, email=Notification.Email.PENDING)
            .first()
        )
        if notification is None:
            return None
        preferences = preferences_for(user_id=notification.recipient_id)
        if in_quiet_hours(preferences=preferences):
            return notification.email  # held: the periodic task sends it later
        recipient = notification.recipient
        now = timezone.now()
        sent_today = Notification.objects.filter(
            recipient_id=recipient.pk,
            email=Notification.Email.SENT,
            emailed_at__gt=now - timedelta(days=1),
        ).count()
        if not recipient.email:
            notification.email = Notification.Email.NONE
        elif not preferences.email_is_verified(recipient.email):
            notification.email = Notification.Email.UNPROVED
        elif sent_today >= preferences.emails_per_day:
            notification.email = Notification.Email.CAPPED
        else:
            notification.email = _send(notification)
            notification.emailed_at = now
        notification.save(update_fields=["email", "emailed_at"])
        return notification.email


def _send(notification: Notification) -> Notification.Email:
    site = settings.SITE_URL or f"http://{settings.ALLOWED_HOSTS[0]}"
    context = {"notification": notification, "site_url": site}
    try:
        send_mail(
            subject=Truncator(notification.text).chars(120),
            message=render_to_string("notifications/email.txt", context),
            from_email=None,
            recipient_list=[notification.recipient.email],
        )
    except Exception:
        logger.exception("Could not email notification %s", notification.pk)
        return Notification.Email.FAILED
    return Notification.Email.SENT


def held_emails_send() -> int:
    """Send the emails that quiet hours held back (or a lost task left pending)."""
    cutoff = timezone.now() - HELD_EMAIL_MAX_AGE
    Notification.objects.filter(email=Notification.Email.PENDING, created_at__lt=cutoff).update(
        email=Notification.Email.NONE
    )
    sent = 0
    pending = Notification.objects.filter(email=Notification.Email.PENDING).values_list(
        "pk", flat=True
    )
    for notification_id in list(pending[:500]):
        if notification_email_send(notification_id=notification_id) == Notification.Email.SENT:
            sent += 1
    return sent
