"""Rotating HASH_KEY, with the old key in HASH_KEY_FALLBACKS, keeps every browser who it was:
its vote, its "you voted" and the polls it created stay its own."""

import pytest

from core.voters import Voter
from polls import selectors, services
from polls.models import Ballot, Poll
from polls.services import VoteResult
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db

OLD_KEY = "old-hash-key-" + "o" * 50
NEW_KEY = "new-hash-key-" + "n" * 50
BROWSER = "browser-token-rotation-" + "x" * 24


def browser(ip: str = "192.0.2.7") -> Voter:
    return Voter(token=BROWSER, ip=ip)


@pytest.fixture
def voted_before_rotation(settings):
    settings.HASH_KEY, settings.HASH_KEY_FALLBACKS = OLD_KEY, []
    poll = PollFactory(protection=Poll.Protection.TOKEN_IP, creator_token=BROWSER)
    first = poll.options.first()
    assert services.vote_cast(poll=poll, voter=browser(), option_ids=[first.pk]).result == (
        VoteResult.ACCEPTED
    )
    return poll, first


def rotate(settings, *, keep_old: bool) -> None:
    settings.HASH_KEY = NEW_KEY
    settings.HASH_KEY_FALLBACKS = [OLD_KEY] if keep_old else []


def test_after_a_rotation_the_browser_still_has_its_vote_and_cannot_vote_twice(
    settings, voted_before_rotation
):
    poll, first = voted_before_rotation
    rotate(settings, keep_old=True)
    assert selectors.voter_choices(poll=poll, voter=browser()) == [first.pk]
    assert selectors.is_poll_owner(poll=poll, voter=browser())

    again = services.vote_cast(poll=poll, voter=browser(), option_ids=[first.pk])
    assert again.result == VoteResult.ALREADY_VOTED
    assert Ballot.objects.filter(poll=poll).count() == 1
    # Its ballot now carries the new key, so the fallback can be dropped later.
    settings.HASH_KEY_FALLBACKS = []
    assert selectors.voter_choices(poll=poll, voter=browser()) == [first.pk]


def test_after_a_rotation_its_network_is_still_the_one_that_voted(settings, voted_before_rotation):
    poll, first = voted_before_rotation
    rotate(settings, keep_old=True)
    other_browser = Voter(token="another-browser-token-" + "y" * 24, ip="192.0.2.7")
    outcome = services.vote_cast(poll=poll, voter=other_browser, option_ids=[first.pk])
    assert outcome.result == VoteResult.ALREADY_VOTED
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_without_the_fallback_a_rotation_makes_every_browser_a_stranger(
    settings, voted_before_rotation
):
    """Why the fallback exists: the same browser would be new to every poll."""
    poll, _ = voted_before_rotation
    rotate(settings, keep_old=False)
    assert selectors.voter_choices(poll=poll, voter=browser()) is None
    assert not selectors.is_poll_owner(poll=poll, voter=browser())


def test_a_browser_claims_the_polls_it_created_before_the_rotation(
    settings, voted_before_rotation, user
):
    poll, _ = voted_before_rotation
    rotate(settings, keep_old=True)
    assert services.poll_claim_for_browser(user=user, token=BROWSER) == 1
    poll.refresh_from_db()
    assert poll.owner_id == user.pk
