"""What polls keeps only for a while: idempotency records, and index rows of deleted polls."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core import fulltext
from core.retention import delete_in_batches
from polls.models import IdempotentVote, Poll
from polls.search_index import KIND


def idempotent_votes_purge() -> int:
    """Forget vote outcomes older than IDEMPOTENCY_RETENTION_HOURS: a retry comes sooner."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_RETENTION_HOURS)
    return delete_in_batches(IdempotentVote.objects.filter(created_at__lt=cutoff))


def search_index_prune() -> int:
    """Drop full-text rows of polls that no longer exist or are no longer public."""
    indexed = fulltext.indexed_ids(kind=KIND)
    listed = set(Poll.objects.public().filter(pk__in=indexed).values_list("pk", flat=True))
    for poll_id in indexed - listed:
        fulltext.remove_document(kind=KIND, object_id=poll_id)
    return len(indexed - listed)
