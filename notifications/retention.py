"""What the bell keeps only for a while: notifications read long ago."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.retention import delete_in_batches
from notifications.models import Notification


def read_notifications_purge() -> int:
    """Delete notifications read more than NOTIFICATION_RETENTION_DAYS ago."""
    cutoff = timezone.now() - timedelta(days=settings.NOTIFICATION_RETENTION_DAYS)
    return delete_in_batches(Notification.objects.filter(read_at__lt=cutoff))
