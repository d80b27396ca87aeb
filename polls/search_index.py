"""Listed polls in the full-text index (core/fulltext.py): question, description, options.

Kept in step by the receivers of PollCreated and PollUpdated (polls/receivers.py); polls
indexed before that, or missed, are added after every migrate (see PollsConfig).
"""

from core import fulltext
from polls.models import Poll

KIND = "poll"


def poll_search_sync(*, poll_id: int) -> None:
    """Index a public poll's text as it is now; drop an unlisted, hidden, circle's or
    deleted one."""
    poll = Poll.objects.public().filter(pk=poll_id).first()
    if poll is None:
        fulltext.remove_document(kind=KIND, object_id=poll_id)
        return
    options = " ".join(poll.options.values_list("text", flat=True))
    fulltext.index_document(
        kind=KIND, object_id=poll.pk, title=poll.question, body=f"{poll.description} {options}"
    )


def poll_search_backfill() -> int:
    """Index every public poll missing from the index; return how many were added."""
    listed = Poll.objects.public()
    missing = set(listed.values_list("pk", flat=True)) - (fulltext.indexed_ids(kind=KIND))
    for poll_id in missing:
        poll_search_sync(poll_id=poll_id)
    return len(missing)


def poll_search_ids(*, query: str, limit: int) -> list[int]:
    """Ids of the polls matching every word of the query, best first (one query)."""
    return [poll_id for poll_id, _ in fulltext.search(kind=KIND, query=query, limit=limit)]
