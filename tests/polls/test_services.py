"""Poll services and selectors: creating, voting, tallying, closing and who sees results."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from core.voters import Voter
from polls import selectors, services
from polls.models import TALLY_SHARDS, Ballot, IdempotentVote, Poll, TallyShard
from polls.services import VoteResult
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db


def voter_number(number: int, *, ip: str = "192.0.2.1", user_id=None) -> Voter:
    return Voter(token=f"browser-token-{number:04d}-" + "x" * 24, ip=ip, user_id=user_id)


def ids(poll) -> list[int]:
    return [option.id for option in poll.options.all()]


def test_poll_create_stores_options_in_order_and_empty_shards():
    """A new poll has its options in the given order and zeroed tally shards for each."""
    poll = services.poll_create(question="Best season?", options=["Spring", "Summer", "Autumn"])
    assert [(o.position, o.text) for o in poll.options.all()] == [
        (0, "Spring"),
        (1, "Summer"),
        (2, "Autumn"),
    ]
    shards = TallyShard.objects.filter(poll=poll)
    assert shards.count() == TALLY_SHARDS * 4
    assert shards.filter(option__isnull=True).count() == TALLY_SHARDS
    assert shards.aggregate(total=Sum("count"))["total"] == 0
    assert len(poll.code) == 10
    assert poll.code.isalnum()


def test_poll_create_keeps_only_a_keyed_hash_of_the_creator_browser():
    """The creating browser's token is stored as a keyed hash, not as itself."""
    token = "creator-token-" + "y" * 30
    poll = services.poll_create(question="Q?", options=["A", "B"], creator_token=token)
    assert poll.creator_key
    assert token not in poll.creator_key


def test_poll_codes_are_unique_and_unpredictable():
    """Each poll gets a different random code."""
    codes = {PollFactory().code for _ in range(20)}
    assert len(codes) == 20


def test_vote_cast_accepts_a_first_vote_and_counts_it():
    """A first vote is accepted and shows in the tally and as the voter's choice."""
    poll = PollFactory()
    red, green, _ = ids(poll)
    outcome = services.vote_cast(poll=poll, voter=voter_number(1), option_ids=[green])
    assert outcome.result == VoteResult.ACCEPTED
    assert outcome.your_vote == [green]
    assert outcome.tally.total_votes == 1
    assert [o.votes for o in outcome.tally.options] == [0, 1, 0]
    assert selectors.voter_choices(poll=poll, voter=voter_number(1)) == [green]
    assert selectors.voter_choices(poll=poll, voter=voter_number(2)) is None
    assert red != green


def test_vote_cast_refuses_the_same_voter_twice():
    """A second vote by the same voter is refused and the first choice stands."""
    poll = PollFactory()
    red, green, _ = ids(poll)
    services.vote_cast(poll=poll, voter=voter_number(1), option_ids=[red])
    again = services.vote_cast(poll=poll, voter=voter_number(1), option_ids=[green])
    assert again.result == VoteResult.ALREADY_VOTED
    assert again.your_vote == [red]
    assert again.tally.total_votes == 1
    assert [o.votes for o in again.tally.options] == [1, 0, 0]


def test_vote_cast_refuses_a_closed_poll():
    """A vote on a closed poll is refused and not counted."""
    closed = PollFactory()
    services.poll_close(poll=closed)
    outcome = services.vote_cast(poll=closed, voter=voter_number(1), option_ids=ids(closed)[:1])
    assert outcome.result == VoteResult.CLOSED
    assert outcome.your_vote is None
    assert not Ballot.objects.exists()


def test_vote_cast_refuses_a_poll_past_its_close_time():
    """A vote on a poll whose close time has passed is refused and not counted."""
    past = PollFactory(closes_at=timezone.now() - timedelta(minutes=1))
    outcome = services.vote_cast(poll=past, voter=voter_number(1), option_ids=ids(past)[:1])
    assert outcome.result == VoteResult.CLOSED
    assert not Ballot.objects.exists()


def test_vote_cast_accepts_a_poll_before_its_close_time():
    """A vote on a poll whose close time is still ahead is accepted."""
    poll = PollFactory(closes_at=timezone.now() + timedelta(days=1))
    outcome = services.vote_cast(poll=poll, voter=voter_number(1), option_ids=ids(poll)[:1])
    assert outcome.result == VoteResult.ACCEPTED
    assert outcome.tally.total_votes == 1


def test_vote_cast_needs_a_user_on_account_polls(django_user_model):
    """On a signed-in-only poll an anonymous voter is refused and a user is counted."""
    poll = PollFactory(protection=Poll.Protection.ACCOUNT)
    refused = services.vote_cast(poll=poll, voter=voter_number(1), option_ids=ids(poll)[:1])
    assert refused.result == VoteResult.LOGIN_REQUIRED
    user = django_user_model.objects.create_user(username="grace", password="pw-123456789")
    accepted = services.vote_cast(
        poll=poll, voter=voter_number(1, user_id=user.pk), option_ids=ids(poll)[:1]
    )
    assert accepted.result == VoteResult.ACCEPTED
    assert Ballot.objects.get().user == user


def test_vote_cast_token_ip_refuses_a_second_voter_from_one_address():
    """On a browser-and-address poll a second voter from the same address is refused."""
    poll = PollFactory(protection=Poll.Protection.TOKEN_IP)
    first = services.vote_cast(poll=poll, voter=voter_number(1), option_ids=ids(poll)[:1])
    second = services.vote_cast(poll=poll, voter=voter_number(2), option_ids=ids(poll)[:1])
    other_ip = services.vote_cast(
        poll=poll, voter=voter_number(3, ip="192.0.2.99"), option_ids=ids(poll)[:1]
    )
    assert [first.result, second.result, other_ip.result] == [
        VoteResult.ACCEPTED,
        VoteResult.ALREADY_VOTED,
        VoteResult.ACCEPTED,
    ]
    assert Ballot.objects.count() == 2


def test_idempotency_key_replays_the_first_outcome_without_a_second_vote():
    """A vote retried with its idempotency key gets the stored first outcome and counts once."""
    poll = PollFactory()
    red, green, _ = ids(poll)

    first = services.vote_cast(
        poll=poll, voter=voter_number(1), option_ids=[red], idempotency_key="k"
    )
    services.vote_cast(poll=poll, voter=voter_number(2), option_ids=[red])
    retry = services.vote_cast(
        poll=poll, voter=voter_number(1), option_ids=[green], idempotency_key="k"
    )
    assert not first.replayed
    assert retry.replayed
    assert retry.result == VoteResult.ACCEPTED
    assert retry.your_vote == [red]
    assert retry.tally == first.tally  # the tally as the first answer showed it
    assert retry.tally.total_votes == 1
    assert Ballot.objects.count() == 2
    assert IdempotentVote.objects.count() == 1
    assert "k" not in IdempotentVote.objects.get().key


def test_tally_sums_the_shards_for_multiple_choice_ballots():
    """The tally counts ballots once each and every option each ballot chose."""
    poll = PollFactory(choice_type=Poll.ChoiceType.MULTIPLE)
    red, green, blue = ids(poll)
    choices = [[red, green], [red], [red, blue], [green]]
    for number, chosen in enumerate(choices):
        services.vote_cast(poll=poll, voter=voter_number(number), option_ids=chosen)
    tally = selectors.poll_tally(poll=poll)
    assert tally.total_votes == 4
    assert [(o.votes, o.percentage) for o in tally.options] == [(3, 75.0), (2, 50.0), (1, 25.0)]
    assert tally.leading_votes == 3
    # The counts agree with the ballots themselves.
    assert Ballot.objects.filter(poll=poll).count() == 4


def test_tally_of_an_unvoted_poll_is_zero():
    """A poll with no votes tallies zero votes and zero percent everywhere."""
    tally = selectors.poll_tally(poll=PollFactory())
    assert tally.total_votes == 0
    assert all(o.votes == 0 and o.percentage == 0.0 for o in tally.options)


def test_percentage_rounds_to_one_decimal():
    """Percentages are of ballots, rounded to one decimal, and zero with no ballots."""
    assert selectors.percentage(1, 3) == 33.3
    assert selectors.percentage(2, 3) == 66.7
    assert selectors.percentage(0, 0) == 0.0


def test_poll_close_then_reopen():
    """Closing a poll stops votes; closing again reports False; reopening lets votes in again."""
    poll = PollFactory(closes_at=timezone.now() + timedelta(days=1))
    assert services.poll_close(poll=poll) is True
    assert poll.is_closed()
    assert services.poll_close(poll=poll) is False
    services.poll_reopen(poll=poll)
    assert not poll.is_closed()
    assert poll.closes_at is None
    outcome = services.vote_cast(poll=poll, voter=voter_number(1), option_ids=ids(poll)[:1])
    assert outcome.result == VoteResult.ACCEPTED


def test_reopen_clears_a_past_close_time():
    """Reopening a poll whose close time has passed keeps it open."""
    poll = PollFactory(closes_at=timezone.now() - timedelta(hours=1))
    assert poll.is_closed()
    services.poll_reopen(poll=poll)
    poll.refresh_from_db()
    assert not poll.is_closed()


@pytest.mark.parametrize(
    ("visibility", "has_voted", "is_owner", "closed", "expected"),
    [
        ("always", False, False, False, True),
        ("after_vote", False, False, False, False),
        ("after_vote", True, False, False, True),
        ("after_vote", False, False, True, True),
        ("after_vote", False, True, False, True),
        ("after_close", True, False, False, False),
        ("after_close", False, True, False, True),
        ("after_close", False, False, True, True),
    ],
)
def test_results_visible(visibility, has_voted, is_owner, closed, expected):
    """Results show per the poll's visibility setting, and always to the owner."""
    poll = PollFactory(results_visibility=visibility)
    if closed:
        services.poll_close(poll=poll)
    assert selectors.results_visible(poll=poll, has_voted=has_voted, is_owner=is_owner) is expected


def test_results_json_hides_counts_when_not_visible():
    """The results document nulls votes and percentages when results are hidden."""
    poll = PollFactory()
    services.vote_cast(poll=poll, voter=voter_number(1), option_ids=ids(poll)[:1])
    tally = selectors.poll_tally(poll=poll)
    hidden = selectors.results_json(poll=poll, tally=tally, visible=False)
    shown = selectors.results_json(poll=poll, tally=tally, visible=True)
    assert hidden["results_visible"] is False
    assert [(o["votes"], o["percentage"]) for o in hidden["options"]] == [(None, None)] * 3
    assert [(o["votes"], o["percentage"]) for o in shown["options"]] == [
        (1, 100.0),
        (0, 0.0),
        (0, 0.0),
    ]


def test_voter_keys_hash_the_token_and_tell_users_apart():
    """A voter key hides the browser token, and a signed-in user's key is the same anywhere."""
    anonymous = voter_number(1)
    assert anonymous.token not in anonymous.key
    assert anonymous.ip not in anonymous.ip_key
    assert voter_number(1, user_id=7).key == voter_number(2, user_id=7).key
    assert voter_number(1).key != voter_number(2).key


def test_vote_on_options_removed_by_a_concurrent_edit_is_refused():
    """A vote checked against options that an edit then removed is refused, not a 500."""
    poll = PollFactory(options=["Red", "Green", "Blue"])
    loaded = Poll.objects.get(pk=poll.pk)  # as a vote request loaded it
    blue = loaded.options.get(text="Blue")
    services.poll_update(
        poll=Poll.objects.get(pk=poll.pk),
        question=poll.question,
        description="",
        allow_comments=True,
        listed=True,
        results_visibility=poll.results_visibility,
        closes_at=None,
        timezone_name="UTC",
        options=["Red", "Green"],
    )

    outcome = services.vote_cast(
        poll=loaded, voter=Voter(token="t1", ip="127.0.0.1"), option_ids=[blue.pk]
    )

    assert outcome.result == services.VoteResult.OPTIONS_CHANGED
    assert outcome.tally.total_votes == 0
    assert [option.text for option in outcome.tally.options] == ["Red", "Green"]
    assert not Ballot.objects.filter(poll=poll).exists()
