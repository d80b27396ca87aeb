"""Reads: a user's notifications and unread count."""

from django.db.models import QuerySet

from notifications.models import Notification


def unread_count(*, user_id: int) -> int:
    return Notification.objects.filter(
        recipient_id=user_id, in_app=True, read_at__isnull=True
    ).count()


def inbox(*, user_id: int) -> QuerySet[Notification]:
    """The user's in-app notifications, newest first."""
    return Notification.objects.filter(recipient_id=user_id, in_app=True).select_related("poll")
