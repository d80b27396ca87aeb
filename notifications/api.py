"""The signed-in user's notifications through the JSON API: the list, and marking them read."""

from datetime import datetime

from ninja import Query, Router, Schema

from core.http import Refused
from notifications import selectors, services
from polls.api import keyset_page, refusals

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str
    text: str
    url: str
    poll: str | None
    read: bool
    created_at: datetime


class NotificationPage(Schema):
    items: list[NotificationOut]
    unread: int
    next: str | None


class MarkedRead(Schema):
    marked: int
    unread: int


def signed_in_user(request):
    if not request.user.is_authenticated:
        raise Refused(
            401,
            "unauthorized",
            "Notifications belong to an account: send your API token"
            " (Authorization: Bearer <token>) or sign in.",
        )
    return request.user


@router.get(
    "/notifications", response={200: NotificationPage, **refusals()}, summary="Notifications"
)
def notification_list(
    request, cursor: str = Query("", max_length=200, description="`next` of the page before")
):
    """Your notifications, newest first, with the unread count."""
    user = signed_in_user(request)
    rows, next_cursor = keyset_page(selectors.inbox(user_id=user.pk), cursor, 20)
    items = [
        {
            "id": notification.pk,
            "kind": notification.kind,
            "text": notification.text,
            "url": notification.url,
            "poll": notification.poll.code if notification.poll else None,
            "read": notification.is_read,
            "created_at": notification.created_at,
        }
        for notification in rows
    ]
    unread = selectors.unread_count(user_id=user.pk)
    return {"items": items, "unread": unread, "next": next_cursor}


@router.post(
    "/notifications/read", response={200: MarkedRead, **refusals()}, summary="Mark all read"
)
def mark_all_read(request):
    """Mark all your notifications read."""
    user = signed_in_user(request)
    marked = services.notifications_mark_all_read(user_id=user.pk)
    return {"marked": marked, "unread": selectors.unread_count(user_id=user.pk)}


@router.post(
    "/notifications/{notification_id}/read",
    response={200: MarkedRead, **refusals()},
    summary="Mark one read",
)
def mark_read(request, notification_id: int):
    """Mark one of your notifications read."""
    user = signed_in_user(request)
    if (
        not 0 < notification_id < 2**63
        or not selectors.inbox(user_id=user.pk).filter(pk=notification_id).exists()
    ):
        raise Refused(404, "not_found", "You have no notification with this id.")
    marked = services.notification_mark_read(user_id=user.pk, notification_id=notification_id)
    return {"marked": int(marked), "unread": selectors.unread_count(user_id=user.pk)}
