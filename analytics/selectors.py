"""Reads of analytics: a poll's opens by source, votes over time and the CSV export."""

import csv
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice

from asgiref.sync import sync_to_async
from django.db.models import Count
from django.db.models.functions import Trunc
from django.utils import timezone

from analytics.models import Open
from polls import selectors as poll_selectors
from polls.models import Ballot, BallotChoice, Poll

# Bucket sizes tried in turn, each with the unit the database truncates to before the
# buckets are folded: the first that keeps the chart within MAX_BUCKETS bars wins.
BUCKET_SIZES = [
    (60, "minute"),
    (300, "minute"),
    (900, "minute"),
    (3600, "hour"),
    (6 * 3600, "hour"),
    (86400, "day"),
    (7 * 86400, "day"),
    (30 * 86400, "day"),
]
MAX_BUCKETS = 60
CSV_CHUNK_SIZE = 2000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# The SVG stretches to its box (text stays HTML, readable at any width).
CHART_WIDTH = 640
CHART_HEIGHT = 200
CHART_LEFT = 4
CHART_BOTTOM = 1
CHART_TOP = 6


def bucket_size(age: timedelta, *, finest: int = 0) -> tuple[int, str]:
    """The bucket (seconds, truncation unit) that fits a poll of this age, no finer than
    `finest` seconds."""
    seconds = max(age.total_seconds(), 0)
    for size, unit in BUCKET_SIZES:
        if size >= finest and seconds / size < MAX_BUCKETS:
            return size, unit
    return BUCKET_SIZES[-1]


def bucket_start(moment: datetime, size: int) -> datetime:
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % size, tz=UTC)


@dataclass(frozen=True)
class Bar:
    start: datetime
    votes: int
    x: float
    y: float
    width: float
    height: float


@dataclass
class Report:
    poll: Poll
    opens: dict[str, int]
    votes: int
    comments: int
    bucket_seconds: int
    buckets: list[tuple[datetime, int]]
    bars: list[Bar] = field(default_factory=list)

    @property
    def total_opens(self) -> int:
        return sum(self.opens.values())

    @property
    def conversion(self) -> float | None:
        return round(self.votes / self.total_opens, 3) if self.total_opens else None

    @property
    def conversion_percent(self) -> float | None:
        return None if self.conversion is None else round(self.conversion * 100, 1)

    @property
    def peak(self) -> int:
        return max((votes for _start, votes in self.buckets), default=0)

    @property
    def bucket_label(self) -> str:
        size = self.bucket_seconds
        if size % 86400 == 0:
            days = size // 86400
            return "day" if days == 1 else f"{days} days"
        if size % 3600 == 0:
            hours = size // 3600
            return "hour" if hours == 1 else f"{hours} hours"
        minutes = size // 60
        return "minute" if minutes == 1 else f"{minutes} minutes"

    @property
    def shows_days(self) -> bool:
        return self.bucket_seconds >= 86400

    def as_json(self) -> dict:
        return {
            "code": self.poll.code,
            "opens": self.opens,
            "votes": self.votes,
            "conversion": self.conversion,
            "comments": self.comments,
            "bucket_seconds": self.bucket_seconds,
            "cumulative": False,
            "votes_over_time": [
                {"t": start.isoformat().replace("+00:00", "Z"), "votes": votes}
                for start, votes in self.buckets
            ],
        }


def opens_by_source(*, poll: Poll) -> dict[str, int]:
    counts = dict(
        Open.objects.filter(poll=poll)
        .values_list("source")
        .annotate(n=Count("id"))
        .values_list("source", "n")
    )
    return {source: counts.get(source, 0) for source in Open.Source.values}


def votes_over_time(*, poll: Poll, now: datetime | None = None):
    """Ballots per bucket from the poll's creation to now, empty buckets included.

    The database counts per minute, hour or day; those few rows are folded into buckets.
    An anonymous poll's ballots know only their day, so its buckets are days at least.
    """
    now = now or timezone.now()
    size, unit = bucket_size(now - poll.created_at, finest=86400 if poll.anonymous else 0)
    rows = (
        Ballot.objects.filter(poll=poll)
        .annotate(at=Trunc("created_at", unit, tzinfo=UTC))
        .values("at")
        .annotate(n=Count("id"))
        .values_list("at", "n")
        .order_by()
    )
    counts: dict[datetime, int] = {}
    for at, n in rows:
        start = bucket_start(at, size)
        counts[start] = counts.get(start, 0) + n
    first = bucket_start(poll.created_at, size)
    last = bucket_start(max(now, poll.created_at), size)
    if counts:
        first = min(first, min(counts))
        last = max(last, max(counts))
    steps = int((last - first).total_seconds()) // size
    buckets = [
        (start, counts.get(start, 0))
        for start in (first + timedelta(seconds=size * i) for i in range(steps + 1))
    ]
    return size, buckets


def chart_bars(buckets: list[tuple[datetime, int]]) -> list[Bar]:
    """Geometry of the SVG bar chart: one bar per bucket, scaled to the busiest one."""
    if not buckets:
        return []
    peak = max(votes for _start, votes in buckets) or 1
    plot_width = CHART_WIDTH - 2 * CHART_LEFT
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    slot = plot_width / len(buckets)
    width = max(slot * 0.8, 1.0)
    bars = []
    for index, (start, votes) in enumerate(buckets):
        height = plot_height * votes / peak
        if votes:
            height = max(height, 2.0)
        bars.append(
            Bar(
                start=start,
                votes=votes,
                x=round(CHART_LEFT + index * slot + (slot - width) / 2, 2),
                y=round(CHART_TOP + plot_height - height, 2),
                width=round(width, 2),
                height=round(height, 2),
            )
        )
    return bars


def poll_report(*, poll: Poll, now: datetime | None = None) -> Report:
    size, buckets = votes_over_time(poll=poll, now=now)
    tally = poll_selectors.poll_tally(poll=poll)
    report = Report(
        poll=poll,
        opens=opens_by_source(poll=poll),
        votes=tally.total_votes,
        comments=poll_selectors.visible_comments(poll_id=poll.pk).count(),
        bucket_seconds=size,
        buckets=buckets,
    )
    report.bars = chart_bars(buckets)
    return report


def chart_frame() -> dict:
    """Where the chart's axes sit, for the template."""
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - CHART_LEFT,
        "top": CHART_TOP,
        "base": CHART_HEIGHT - CHART_BOTTOM,
    }


# CSV export


def neutralise(value: str) -> str:
    """A cell a spreadsheet would run as a formula, made plain text."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


class _Line:
    """A file-like sink that hands back the line csv.writer just wrote."""

    def write(self, value: str) -> str:
        return value


def csv_line(writer, cells) -> str:
    return writer.writerow([neutralise(str(cell)) for cell in cells])


def _choices_of(ballot_ids: list[int], option_texts: dict[int, str]) -> dict[int, list[str]]:
    chosen: dict[int, list[str]] = {ballot_id: [] for ballot_id in ballot_ids}
    rows = (
        BallotChoice.objects.filter(ballot_id__in=ballot_ids)
        .order_by("option__position", "option_id")
        .values_list("ballot_id", "option_id")
    )
    for ballot_id, option_id in rows:
        chosen[ballot_id].append(option_texts.get(option_id, ""))
    return chosen


async def results_csv_lines(*, poll: Poll) -> AsyncIterator[str]:
    """The CSV export line by line: options and their counts, a blank line, then every
    ballot (when, which options, its comment unless removed) with no voter identity.

    An async iterator: under ASGI Django would read a synchronous one whole into memory.
    Ballots come through a chunked cursor, CSV_CHUNK_SIZE at a time, so memory stays flat
    however many there are.
    """
    writer = csv.writer(_Line())
    tally = await sync_to_async(poll_selectors.poll_tally)(poll=poll)
    option_texts = {option.id: option.text for option in tally.options}
    yield csv_line(writer, ["option", "votes", "percentage"])
    for option in tally.options:
        yield csv_line(writer, [option.text, option.votes, f"{option.percentage:.1f}"])
    yield "\r\n"
    yield csv_line(writer, ["cast_at", "options", "comment"])
    # An anonymous poll's rows are shuffled within each day: in the order they were cast,
    # they would tell whoever saw who voted when what each of them chose.
    order = ("created_at", "?") if poll.anonymous else ("created_at", "id")
    ballots = (
        Ballot.objects.filter(poll=poll)
        .order_by(*order)
        .values_list("id", "created_at", "comment", "comment_removed")
        .iterator(chunk_size=CSV_CHUNK_SIZE)
    )
    # One hop to the database thread per chunk; the cursor lives there between hops.
    while lines := await sync_to_async(_next_ballot_lines)(writer, ballots, option_texts):
        for line in lines:
            yield line


def _next_ballot_lines(writer, ballots, option_texts: dict[int, str]) -> list[str]:
    chunk = list(islice(ballots, CSV_CHUNK_SIZE))
    if not chunk:
        return []
    chosen = _choices_of([row[0] for row in chunk], option_texts)
    return [
        csv_line(
            writer,
            [
                cast_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "; ".join(chosen[ballot_id]),
                "" if removed else comment,
            ],
        )
        for ballot_id, cast_at, comment, removed in chunk
    ]
