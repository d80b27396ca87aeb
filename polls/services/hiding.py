"""Moderators hiding a poll, and putting it back. A hidden poll answers 404 to everyone but
its owner and staff (polls.visibility), with the reason shown to its owner."""

from django.db import transaction
from django.utils import timezone

from audit.models import Action
from core.events import announce
from polls.events import PollHidden, PollRestored
from polls.models import Poll
from polls.search_index import poll_search_sync
from polls.services.polls import poll_action_audit


def poll_hide(*, poll: Poll, reason: str, actor) -> bool:
    """Hide the poll; False if it was hidden already."""
    reason = reason.strip()[:300] or "It breaks the site's rules."
    with transaction.atomic():
        hidden = Poll.objects.filter(pk=poll.pk, hidden_at__isnull=True).update(
            hidden_at=timezone.now(), hidden_reason=reason
        )
        if hidden:
            poll.refresh_from_db(fields=["hidden_at", "hidden_reason"])
            poll_search_sync(poll_id=poll.pk)
            poll_action_audit(actor, Action.HIDE, poll, reason=reason)
            announce(PollHidden(poll=poll, reason=reason))
    return bool(hidden)


def poll_restore(*, poll: Poll, actor) -> bool:
    """Put a hidden poll back; False if it was not hidden."""
    with transaction.atomic():
        restored = Poll.objects.filter(pk=poll.pk, hidden_at__isnull=False).update(
            hidden_at=None, hidden_reason=""
        )
        if restored:
            poll.hidden_at, poll.hidden_reason = None, ""
            poll_search_sync(poll_id=poll.pk)
            poll_action_audit(actor, Action.RESTORE, poll)
            announce(PollRestored(poll=poll))
    return bool(restored)
