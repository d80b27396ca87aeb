"""Fill an empty site with a few demo polls, votes and comments, through the real services."""

import random
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from core.security import keyed_hash
from core.voters import Voter
from polls.models import Poll
from polls.services import poll_close, poll_create, vote_cast

# Demo polls carry this creator: a string that is never a valid browser token, so no
# visitor can manage them, and seed_demo can find them again.
DEMO_CREATOR_MARK = "tally-seed-demo"


@dataclass(frozen=True)
class DemoPoll:
    question: str
    options: list[str]
    weights: list[int]
    voters: int
    description: str = ""
    comments: list[str] = field(default_factory=list)
    choice_type: str = Poll.ChoiceType.SINGLE
    results_visibility: str = Poll.ResultsVisibility.ALWAYS
    allow_comments: bool = True
    protection: str = Poll.Protection.TOKEN
    closes_in: timedelta | None = None
    timezone_name: str = "UTC"
    closed: bool = False


DEMO_POLLS = [
    DemoPoll(
        question="Where should this spring's team offsite be?",
        description="Three days, flights under three hours for most of us. Voting closes Friday.",
        options=["Lisbon", "Kraków", "Edinburgh", "Valencia"],
        weights=[9, 5, 4, 7],
        voters=38,
        closes_in=timedelta(days=4),
        timezone_name="Europe/Lisbon",
        comments=[
            "Lisbon in April is hard to beat, and the food is great.",
            "Kraków is cheap and the old town is walkable from any hotel.",
            "Edinburgh please, but only if someone else plans the hike up Arthur's Seat.",
            "Valencia has the beach and the paella. Easy choice.",
            "Whatever we pick, let's keep the travel day short.",
            "I went to Lisbon last year, would love somewhere new.",
        ],
    ),
    DemoPoll(
        question="Which languages do you use at work?",
        description="Pick every language you wrote code in during the last month.",
        options=["Python", "TypeScript / JavaScript", "Go", "Rust", "Java / Kotlin", "C#"],
        weights=[10, 9, 4, 3, 5, 3],
        voters=52,
        choice_type=Poll.ChoiceType.MULTIPLE,
        comments=[
            "Python for the backend, TypeScript for everything with a button.",
            "Mostly Go these days, with some Python scripts that refuse to die.",
            "Rust for the hot path, Python for the glue.",
            "Kotlin on Android, and a surprising amount of SQL.",
            "C# at work, Rust on weekends.",
        ],
    ),
    DemoPoll(
        question="When should the weekly all-hands happen?",
        description="Results show once you have voted, so nobody just follows the crowd.",
        options=["Monday 10:00", "Tuesday 14:00", "Wednesday 11:00", "Friday 15:00"],
        weights=[3, 6, 8, 2],
        voters=27,
        results_visibility=Poll.ResultsVisibility.AFTER_VOTE,
        protection=Poll.Protection.TOKEN_IP,
        comments=[
            "Mid-week works best with the people in other time zones.",
            "Please not Friday afternoon.",
            "Monday mornings are for catching up on email.",
        ],
    ),
    DemoPoll(
        question="Does pineapple belong on pizza?",
        options=["Yes, always", "No, never", "Only with jalapeños"],
        weights=[5, 6, 3],
        voters=44,
        closed=True,
        comments=[
            "Sweet and salty is a classic combination. Fight me.",
            "Fruit on pizza is where I draw the line.",
            "Pineapple plus jalapeño is the only correct answer.",
            "My grandmother from Naples would not approve.",
        ],
    ),
    DemoPoll(
        question="What should the neighbourhood library add next?",
        description="The council has budget for two of these next year. Choose up to all of them.",
        options=[
            "Evening opening hours",
            "A maker space with 3D printers",
            "More board games to borrow",
            "Quiet study rooms",
            "A children's coding club",
        ],
        weights=[8, 5, 4, 7, 6],
        voters=33,
        choice_type=Poll.ChoiceType.MULTIPLE,
        closes_in=timedelta(days=12),
        timezone_name="Europe/London",
        comments=[
            "Evening hours would let me actually use the library after work.",
            "The coding club would be brilliant for my two.",
            "Study rooms please, the café next door is too loud.",
            "A 3D printer would bring in a whole new crowd.",
        ],
    ),
    DemoPoll(
        question="How do you usually get to work?",
        options=["Walk", "Bike", "Public transport", "Car", "I work from home"],
        weights=[3, 4, 7, 5, 6],
        voters=41,
        results_visibility=Poll.ResultsVisibility.AFTER_CLOSE,
        allow_comments=False,
        closes_in=timedelta(days=2),
        timezone_name="America/New_York",
    ),
]


def _demo_creator_key() -> str:
    return keyed_hash(DEMO_CREATOR_MARK, purpose="creator")


def _demo_voter(number: int) -> Voter:
    """A synthetic voter with its own token and a documentation-range address."""
    return Voter(token=f"demo-voter-{number:04d}", ip=f"203.0.113.{number % 250 + 1}")


def _seed_poll(demo: DemoPoll, rng: random.Random) -> Poll:
    poll = poll_create(
        question=demo.question,
        description=demo.description,
        options=demo.options,
        choice_type=demo.choice_type,
        results_visibility=demo.results_visibility,
        allow_comments=demo.allow_comments,
        protection=demo.protection,
        timezone_name=demo.timezone_name,
        creator_token=DEMO_CREATOR_MARK,
    )
    option_ids = list(poll.options.values_list("id", flat=True))
    comments = list(demo.comments)
    rng.shuffle(comments)
    for number in range(demo.voters):
        if demo.choice_type == Poll.ChoiceType.MULTIPLE:
            count = rng.choice([1, 1, 2, 2, 3])
            chosen = set(rng.choices(option_ids, weights=demo.weights, k=count))
        else:
            chosen = set(rng.choices(option_ids, weights=demo.weights))
        # About three voters in ten leave a comment, until the poll's comments run out.
        comment = comments.pop() if comments and rng.random() < 0.3 else ""
        vote_cast(
            poll=poll,
            voter=_demo_voter(number),
            option_ids=sorted(chosen),
            comment=comment if demo.allow_comments else "",
        )
    # Close times are set once the demo votes are in.
    if demo.closes_in:
        Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() + demo.closes_in)
    if demo.closed:
        poll_close(poll=poll)
    return poll


class Command(BaseCommand):
    help = "Create a few demo polls with votes and comments (skips polls that already exist)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo polls first and create them afresh.",
        )
        parser.add_argument(
            "--seed", type=int, default=2024, help="Random seed for the votes (default 2024)."
        )

    def handle(self, *args, reset: bool = False, seed: int = 2024, **options):
        demo_polls = Poll.objects.filter(creator_key=_demo_creator_key())
        if reset:
            deleted = demo_polls.filter(question__in=[demo.question for demo in DEMO_POLLS])
            count = deleted.count()
            deleted.delete()
            self.stdout.write(f"Deleted {count} demo poll(s).")
        rng = random.Random(seed)
        created = 0
        for demo in DEMO_POLLS:
            if demo_polls.filter(question=demo.question).exists():
                continue
            with transaction.atomic():
                poll = _seed_poll(demo, rng)
            created += 1
            self.stdout.write(f"  {poll.get_absolute_url()}  {poll.question}")
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created {created} demo poll(s)."))
        else:
            self.stdout.write("Demo polls already exist; nothing to do (--reset recreates them).")
