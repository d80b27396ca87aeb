from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from polls.management.commands.seed_demo import DEMO_POLLS
from polls.models import Ballot, Poll, TallyShard

pytestmark = pytest.mark.django_db


def _seed(*args):
    call_command("seed_demo", *args, stdout=StringIO())


def _snapshot():
    return Poll.objects.count(), Ballot.objects.count()


def test_seed_demo_creates_varied_polls_with_votes_and_comments():
    """Every demo poll exists with votes; comments go only where the poll allows them."""
    _seed()

    polls = Poll.objects.all()
    assert polls.count() == len(DEMO_POLLS)
    for poll in polls:
        ballots = poll.ballots.count()
        assert ballots > 0, poll.question
        counted = TallyShard.objects.filter(poll=poll, option__isnull=True).aggregate(
            total=Sum("count")
        )["total"]
        assert counted == ballots, poll.question
        commented = poll.ballots.exclude(comment="").count()
        assert (commented > 0) == poll.allow_comments, poll.question
    assert Ballot.objects.exclude(comment="").count() >= 10

    # Varied settings: multiple choice, results after voting, a close time, a closed poll.
    assert Poll.objects.filter(choice_type=Poll.ChoiceType.MULTIPLE).exists()
    assert Poll.objects.filter(results_visibility=Poll.ResultsVisibility.AFTER_VOTE).exists()
    assert Poll.objects.filter(closed_at__isnull=False).count() == 1
    assert Poll.objects.filter(closes_at__isnull=False, closed_at__isnull=True).exists()
    multiple = Poll.objects.filter(choice_type=Poll.ChoiceType.MULTIPLE).first()
    assert any(ballot.choices.count() > 1 for ballot in multiple.ballots.all())


def test_seed_demo_twice_does_not_duplicate():
    _seed()
    first = _snapshot()

    _seed()

    assert _snapshot() == first


def test_seed_demo_reset_recreates_the_demo_polls_only():
    _seed()
    first = _snapshot()
    own = Poll.objects.create(question="Not a demo poll")
    old_codes = set(Poll.objects.exclude(pk=own.pk).values_list("code", flat=True))

    _seed("--reset")

    assert _snapshot() == (first[0] + 1, first[1])
    assert Poll.objects.filter(pk=own.pk).exists()
    new_codes = set(Poll.objects.exclude(pk=own.pk).values_list("code", flat=True))
    assert not new_codes & old_codes
