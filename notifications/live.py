"""Pushing the bell to every open tab of a user: the unread badge, and a toast when new."""

from django.template.loader import render_to_string

from core import push
from notifications.selectors import unread_count

BELL_TEMPLATE = "notifications/bell.html#badge"
TOAST_TEMPLATE = "notifications/bell.html#toast"


def user_group(user_id: int) -> str:
    return f"notifications.user.{user_id}"


def render_badge(*, count: int) -> str:
    return render_to_string(BELL_TEMPLATE, {"unread_count": count, "oob": True})


def push_unread_count(user_id: int, *, toast_for=None) -> None:
    """Send the user's badge, and a toast for toast_for if given, to all their open tabs."""
    html = render_badge(count=unread_count(user_id=user_id))
    if toast_for is not None:
        html += render_to_string(TOAST_TEMPLATE, {"notification": toast_for})
    push.group_send_from_sync(user_group(user_id), {"type": "bell.update", "html": html})
