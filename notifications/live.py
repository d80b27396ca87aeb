"""Pushing the bell to every open tab of a user: the unread badge, and a toast when new."""

from django.template.loader import render_to_string

from core import push
from notifications.selectors import unread_count

BELL_TEMPLATE = "notifications/bell.html#badge"
TOAST_TEMPLATE = "notifications/bell.html#toast"


def user_group(user_id: int) -> str:
    return f"notifications.user.{user_id}"


def counts_group(user_id: int) -> str:
    """The user's open "My polls" pages, which follow their polls' vote counts."""
    return f"notifications.user.{user_id}.counts"


def render_badge(*, count: int) -> str:
    return render_to_string(BELL_TEMPLATE, {"unread_count": count, "oob": True})


def push_unread_count(user_id: int) -> None:
    html = render_badge(count=unread_count(user_id=user_id))
    push.group_send_from_sync(user_group(user_id), {"type": "bell.update", "html": html})


def push_notification(notification, *, toast: bool) -> None:
    html = render_badge(count=unread_count(user_id=notification.recipient_id))
    if toast:
        html += render_to_string(TOAST_TEMPLATE, {"notification": notification})
    push.group_send_from_sync(
        user_group(notification.recipient_id), {"type": "bell.update", "html": html}
    )
