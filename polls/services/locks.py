"""How votes and the changes that must see every vote in flight take turns on a poll."""

from django.db import connection

from polls.models import Poll


def lock_poll_against_close(poll: Poll) -> bool:
    """Re-read the poll's close state, holding off a concurrent close until this commits.
    Returns whether the poll was edited since it was loaded.

    On PostgreSQL votes share an advisory lock on the poll that a close takes exclusively:
    votes proceed side by side, a close waits for those in flight, and votes arriving
    after it queue behind it and then see the poll closed. So every vote accepted before
    a close is in the final tally and none is accepted after it. SQLite's immediate
    transactions already serialise every writer.
    """
    if connection.vendor == "postgresql":
        # A statement of its own: the read below must take its snapshot after the wait.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [poll.pk])
    loaded_version = poll.updated_at
    poll.closed_at, poll.closes_at, poll.updated_at, poll.vote_changes = (
        Poll.objects.filter(pk=poll.pk)
        .values_list("closed_at", "closes_at", "updated_at", "vote_changes")
        .get()
    )
    return poll.updated_at != loaded_version


def lock_poll_exclusively(poll: Poll) -> None:
    """Wait for the votes in flight on the poll and hold off new ones until this commits."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [poll.pk])
