"""Anonymous polls: who voted and what was chosen are written to rows that share nothing.

A VoterMark says that a voter has voted (with the address too, for the token-and-address
protection); its unique constraints are what refuse a second vote. The ballot itself is
written with no voter key, address, user or time of day (polls/services/votes.py), in the
same transaction, so a mark never exists without its ballot nor a ballot without its mark.
"""

import random
import uuid
from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone

from core.voters import Voter
from polls.models import Poll, VoterMark


def voter_mark(*, poll: Poll, voter: Voter) -> bool:
    """Record that this voter has voted; False if they (or their address) already had.

    One statement that does nothing on a conflict, as the ballot insert of a named poll.
    The key is random so the marks keep no order of their own.
    """
    ip_key = voter.ip_key if poll.protection == Poll.Protection.TOKEN_IP else ""
    mark_id = VoterMark._meta.pk.get_db_prep_value(uuid.uuid4(), connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {VoterMark._meta.db_table}"  # noqa: S608 - table name from the model
            " (id, poll_id, voter_key, ip_key) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING RETURNING 1",
            [mark_id, poll.pk, voter.key, ip_key],
        )
        return cursor.fetchone() is not None


def voter_marks_adopt_rotated_keys(*, poll: Poll, voter: Voter) -> None:
    """Move this voter's mark from a key under HASH_KEY_FALLBACKS to the current one."""
    old_keys = voter.keys[1:]
    if not old_keys:
        return
    VoterMark.objects.filter(poll=poll, voter_key__in=old_keys).update(voter_key=voter.key)
    if poll.protection == Poll.Protection.TOKEN_IP:
        VoterMark.objects.filter(poll=poll, ip_key__in=voter.ip_keys[1:]).update(
            ip_key=voter.ip_key
        )


def voter_marks_shuffle(*, poll: Poll) -> None:
    """Write the poll's marks again, in random order, as it closes with every vote in.

    A table's rows are stored (and dumped) in the order they were written: read back
    that way, the marks would line up with the ballots, stored in the order they were
    cast. Rewritten, they keep no order once the space of the old rows is reused.
    """
    marks = list(VoterMark.objects.filter(poll=poll).values_list("voter_key", "ip_key"))
    random.SystemRandom().shuffle(marks)
    VoterMark.objects.filter(poll=poll).delete()
    VoterMark.objects.bulk_create(
        (VoterMark(poll=poll, voter_key=key, ip_key=ip_key) for key, ip_key in marks),
        batch_size=1000,
    )


def ballot_day(now: datetime | None = None) -> datetime:
    """When an anonymous ballot says it was cast: the day (UTC), never the time of day,
    which could be matched against anything else that notes when a voter was active."""
    now = now or timezone.now()
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
