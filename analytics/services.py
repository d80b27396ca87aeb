"""Writes of analytics: batches of opens."""

from datetime import UTC, datetime

from analytics.models import Open
from polls.models import Poll


def opens_write(*, rows: list) -> int:
    """Store a batch of (poll code, source, unix time) opens; return how many were kept.

    Opens of polls deleted since, and of unknown sources, are left out.
    """
    codes = {code for code, _source, _at in rows}
    poll_ids = dict(Poll.objects.filter(code__in=codes).values_list("code", "pk"))
    sources = set(Open.Source.values)
    opens = [
        Open(poll_id=poll_ids[code], source=source, opened_at=datetime.fromtimestamp(at, tz=UTC))
        for code, source, at in rows
        if code in poll_ids and source in sources
    ]
    Open.objects.bulk_create(opens, batch_size=500)
    return len(opens)
