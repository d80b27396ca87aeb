"""The CSV export of a 100,000-ballot poll streams with bounded memory."""

import tracemalloc

import pytest
from asgiref.sync import async_to_sync

from polls.models import Ballot, BallotChoice
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db

BALLOTS = 100_000
MAX_PEAK_BYTES = 5_000_000  # a few chunks of CSV_CHUNK_SIZE ballots, whatever the count


def test_csv_of_100000_ballots_streams_with_bounded_memory(signed_in, user, capsys):
    """Every ballot is exported, while the peak of Python memory stays a few megabytes: a
    small fraction of what reading the ballots into a list takes."""
    poll = PollFactory(owner=user, options=["Tabs", "Spaces"])
    tabs, spaces = poll.options.all()
    ballots = Ballot.objects.bulk_create(
        (
            Ballot(poll=poll, voter_key=f"t:{number:060d}", comment=f"Reason number {number}")
            for number in range(BALLOTS)
        ),
        batch_size=5000,
    )
    BallotChoice.objects.bulk_create(
        (
            BallotChoice(ballot_id=ballot.pk, option=tabs if index % 3 else spaces)
            for index, ballot in enumerate(ballots)
        ),
        batch_size=5000,
    )
    del ballots

    response = signed_in.get(f"/poll/{poll.code}/results.csv")
    assert response.status_code == 200

    async def consume() -> tuple[int, int]:
        size = lines = 0
        async for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
        return size, lines

    tracemalloc.start()
    try:
        size, lines = async_to_sync(consume)()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == 1 + 2 + 1 + 1 + BALLOTS  # header, options, blank, header, ballots

    tracemalloc.start()
    try:
        everything = list(
            Ballot.objects.filter(poll=poll).values_list("id", "created_at", "comment")
        )
        _current, list_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(everything) == BALLOTS
    with capsys.disabled():
        print(
            f"\nCSV export of {BALLOTS:,} ballots: {size / 1e6:.1f} MB streamed, peak Python"
            f" memory {peak / 1e6:.2f} MB (the ballots read into a list: {list_peak / 1e6:.1f} MB)"
        )
    assert peak < MAX_PEAK_BYTES
    assert peak < list_peak / 5
