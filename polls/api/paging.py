"""Cursors: opaque to clients; a keyset (created_at, id) for lists, an offset for search."""

import base64
import binascii
import json

from django.utils.dateparse import parse_datetime

from core.http import Refused


def encode_cursor(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError):
        payload = None
    if not isinstance(payload, dict):
        raise Refused(400, "invalid", "This cursor is not one Tally gave out.", "cursor")
    return payload


def keyset_page(queryset, cursor: str, size: int) -> tuple[list, str | None]:
    """One page of a queryset ordered newest first, and the cursor of the next one."""
    if cursor:
        after = decode_cursor(cursor)
        at = parse_datetime(str(after.get("t", ""))) if isinstance(after.get("t"), str) else None
        if at is None or not isinstance(after.get("i"), int):
            raise Refused(400, "invalid", "This cursor is not one Tally gave out.", "cursor")
        queryset = queryset.filter(created_at__lte=at).exclude(created_at=at, pk__gte=after["i"])
    rows = list(queryset.order_by("-created_at", "-pk")[: size + 1])
    if len(rows) <= size:
        return rows, None
    last = rows[size - 1]
    return rows[:size], encode_cursor({"t": last.created_at.isoformat(), "i": last.pk})
