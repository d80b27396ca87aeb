"""Retention: data Tally no longer needs is deleted on a schedule, not kept forever.

One periodic task (core.tasks.purge_expired, on the beat schedule) clears expired sessions
and runs each app's purge named in settings.RETENTION_PURGES, by dotted path, so core
imports no app. Each purge deletes in batches and returns how many rows went.
"""

import logging

from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

BATCH = 5000


def delete_in_batches(queryset, *, batch: int = BATCH) -> int:
    """Delete the queryset's rows a batch at a time: no long lock on a busy table."""
    total = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch])
        if not ids:
            return total
        total += queryset.model.objects.filter(pk__in=ids).delete()[0]


def sessions_purge() -> int:
    """Delete sessions past their expiry (what `manage.py clearsessions` does)."""
    return delete_in_batches(Session.objects.filter(expire_date__lt=timezone.now()))


def purge_expired() -> dict[str, int]:
    """Run every purge; one that fails is logged and the others still run."""
    removed = {}
    for path in ["core.retention.sessions_purge", *settings.RETENTION_PURGES]:
        try:
            removed[path] = import_string(path)()
        except Exception:
            logger.exception("Retention purge %s failed", path)
    if any(removed.values()):
        logger.info("Retention purge removed %s", removed)
    return removed
