"""Changing and withdrawing votes where a poll allows it (SPEC 3), on every transport."""

import pytest
from django.core.cache import cache
from django.utils import timezone

from core.voters import Voter, new_voter_token
from notifications import services as notification_services
from notifications.models import Kind
from polls import selectors, services
from polls.models import Ballot, Poll, TallyShard
from polls.services import VoteResult
from tests.helpers import post_form, post_htmx, post_json, text
from tests.notifications.conftest import texts
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db


def changeable(**fields) -> Poll:
    fields.setdefault("options", ["A", "B", "C"])
    return PollFactory(vote_changes=Poll.VoteChanges.ALLOWED, **fields)


def ids(poll: Poll) -> dict[str, int]:
    return {option.text: option.pk for option in poll.options.all()}


def counts(poll: Poll) -> tuple[int, dict[str, int]]:
    tally = selectors.poll_tally(poll=poll)
    return tally.total_votes, {option.text: option.votes for option in tally.options}


def new_voter() -> Voter:
    return Voter(token=new_voter_token(), user_id=None, ip="203.0.113.9")


def test_a_changed_vote_moves_the_count_and_keeps_one_ballot():
    """Vote A, change to B: A 0, B 1, total 1; no shard ever goes below zero."""
    poll = changeable()
    voter = new_voter()
    services.vote_cast(poll=poll, voter=voter, option_ids=[ids(poll)["A"]])

    outcome = services.vote_cast(poll=poll, voter=voter, option_ids=[ids(poll)["B"]])

    assert outcome.result == VoteResult.CHANGED
    assert outcome.your_vote == [ids(poll)["B"]]
    assert counts(poll) == (1, {"A": 0, "B": 1, "C": 0})
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert not TallyShard.objects.filter(poll=poll, count__lt=0).exists()


def test_withdrawing_takes_the_ballot_out_and_the_voter_may_vote_again():
    """Withdraw: total 0; a new vote from the same voter then counts as a new vote."""
    poll = changeable()
    voter = new_voter()
    services.vote_cast(poll=poll, voter=voter, option_ids=[ids(poll)["A"]])

    withdrawn = services.vote_withdraw(poll=poll, voter=voter)

    assert withdrawn.result == VoteResult.WITHDRAWN
    assert withdrawn.your_vote == []
    assert counts(poll) == (0, {"A": 0, "B": 0, "C": 0})
    assert services.vote_withdraw(poll=poll, voter=voter).result == VoteResult.NOT_VOTED
    again = services.vote_cast(poll=poll, voter=voter, option_ids=[ids(poll)["C"]])
    assert again.result == VoteResult.ACCEPTED
    assert counts(poll) == (1, {"A": 0, "B": 0, "C": 1})


def test_a_multiple_choice_change_replaces_the_whole_selection():
    """[A, B] changed to [B, C]: A 0, B 1, C 1 and still one ballot."""
    poll = changeable(choice_type=Poll.ChoiceType.MULTIPLE)
    voter = new_voter()
    option = ids(poll)
    services.vote_cast(poll=poll, voter=voter, option_ids=[option["A"], option["B"]])
    services.vote_cast(poll=poll, voter=voter, option_ids=[option["B"], option["C"]])

    assert counts(poll) == (1, {"A": 0, "B": 1, "C": 1})


def test_a_ballot_cast_before_shards_were_recorded_can_still_be_changed():
    """A ballot without a stored shard is taken out of a shard that counts it."""
    poll = changeable()
    voter = new_voter()
    services.vote_cast(poll=poll, voter=voter, option_ids=[ids(poll)["A"]])
    Ballot.objects.filter(poll=poll).update(shard=None)

    services.vote_cast(poll=poll, voter=voter, option_ids=[ids(poll)["B"]])
    assert counts(poll) == (1, {"A": 0, "B": 1, "C": 0})
    services.vote_withdraw(poll=poll, voter=voter)
    assert counts(poll) == (0, {"A": 0, "B": 0, "C": 0})
    assert not TallyShard.objects.filter(poll=poll, count__lt=0).exists()


def test_json_change_answers_200_and_withdraw_answers_200_with_an_empty_vote(voter):
    """JSON: a change is 200 with your_vote, a withdrawal 200 with "your_vote": []."""
    poll = changeable()
    option = ids(poll)
    url = f"/poll/{poll.code}/vote"
    assert post_json(voter, url, {"option": option["A"]}).status_code == 201

    changed = post_json(voter, url, {"option": option["B"]})
    assert changed.status_code == 200
    assert changed.json()["your_vote"] == [option["B"]]
    assert changed.json()["total_votes"] == 1

    withdrawn = post_json(voter, f"/poll/{poll.code}/withdraw", {})
    assert withdrawn.status_code == 200
    assert withdrawn.json()["your_vote"] == []
    assert withdrawn.json()["total_votes"] == 0

    again = post_json(voter, f"/poll/{poll.code}/withdraw", {})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_voted"


def test_with_changes_off_a_second_vote_and_a_withdrawal_answer_409(voter):
    """Changes off (the default): a second vote is 409 already_voted, a withdrawal 409
    changes_not_allowed, and the first vote stands."""
    poll = PollFactory(options=["A", "B"])
    option = ids(poll)
    assert post_json(voter, f"/poll/{poll.code}/vote", {"option": option["A"]}).status_code == 201

    second = post_json(voter, f"/poll/{poll.code}/vote", {"option": option["B"]})
    withdrawn = post_json(voter, f"/poll/{poll.code}/withdraw", {})

    assert second.status_code == 409
    assert second.json()["error"]["code"] == "already_voted"
    assert withdrawn.status_code == 409
    assert withdrawn.json()["error"]["code"] == "changes_not_allowed"
    assert counts(poll) == (1, {"A": 1, "B": 0})


def test_a_closed_poll_refuses_a_withdrawal_with_409_closed(voter):
    """Once closed, the vote stands: withdraw answers 409 closed."""
    poll = changeable()
    post_json(voter, f"/poll/{poll.code}/vote", {"option": ids(poll)["A"]})
    services.poll_close(poll=poll)

    response = post_json(voter, f"/poll/{poll.code}/withdraw", {})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "closed"
    assert counts(poll)[0] == 1


def test_without_javascript_change_and_withdraw_redirect_back_with_their_message(voter):
    """Plain forms: a change is 303 to ?voted=changed, a withdrawal 303 to ?voted=withdrawn,
    and the page says so."""
    poll = changeable()
    option = ids(poll)
    post_form(voter, f"/poll/{poll.code}/vote", {"option": option["A"]})

    changed = post_form(voter, f"/poll/{poll.code}/vote", {"option": option["B"]})
    assert changed.status_code == 303
    assert changed["Location"] == f"/poll/{poll.code}?voted=changed"
    page = text(voter.get(changed["Location"]))
    assert "Your vote is changed." in page
    assert "You voted for <strong>B</strong>" in page

    withdrawn = post_form(voter, f"/poll/{poll.code}/withdraw", {})
    assert withdrawn.status_code == 303
    page = text(voter.get(withdrawn["Location"]))
    assert "Your vote is withdrawn." in page
    assert 'name="option"' in page  # the form is back


def test_the_page_offers_change_my_vote_only_where_changes_are_allowed(voter, other_voter):
    """After voting, "Change my vote" (pre-checked) and "Withdraw" show only when allowed."""
    allowed = changeable()
    final = PollFactory(options=["A", "B"])
    post_form(voter, f"/poll/{allowed.code}/vote", {"option": ids(allowed)["B"], "comment": "bee"})
    post_form(voter, f"/poll/{final.code}/vote", {"option": ids(final)["B"]})

    page = text(voter.get(f"/poll/{allowed.code}"))
    assert "Change my vote" in page
    assert f'value="{ids(allowed)["B"]}" checked' in page
    assert "bee</textarea>" in page
    assert "Withdraw my vote" in page
    assert "Change my vote" not in text(voter.get(f"/poll/{final.code}"))


def test_an_htmx_change_answers_the_vote_panel_with_its_outcome(voter):
    """htmx: a change answers 200 with the panel saying the vote is changed."""
    poll = changeable()
    option = ids(poll)
    post_htmx(voter, f"/poll/{poll.code}/vote", {"option": option["A"]})

    response = post_htmx(voter, f"/poll/{poll.code}/vote", {"option": option["C"]})

    assert response.status_code == 200
    assert "Your vote is changed." in text(response)
    assert "You voted for <strong>C</strong>" in text(response)


def test_vote_changes_is_a_create_and_edit_setting(signed_in):
    """The create form stores vote_changes; the edit form can turn it off again."""
    response = post_form(
        signed_in,
        "/create",
        {"question": "Best day?", "options": ["Mon", "Fri"], "vote_changes": "allowed"},
    )
    assert response.status_code == 303
    poll = Poll.objects.get(question="Best day?")
    assert poll.vote_changes == Poll.VoteChanges.ALLOWED

    edited = post_form(signed_in, f"/poll/{poll.code}/edit", {"vote_changes": "off"})
    assert edited.status_code == 303
    poll.refresh_from_db()
    assert poll.vote_changes == Poll.VoteChanges.OFF


@pytest.mark.django_db(transaction=True)
def test_a_change_is_not_reported_as_a_new_vote_and_a_withdrawal_keeps_later_votes_counted(
    django_user_model, settings
):
    """The owner's vote notices count ballots: a change adds none, and after a withdrawal
    the next vote is still reported."""
    settings.NOTIFY_VOTE_BATCH_SECONDS = 60
    owner = django_user_model.objects.create_user(username="host", password="a long pass 42")
    poll = changeable(question="Lunch?", owner=owner)
    first, second = new_voter(), new_voter()
    option = ids(poll)
    services.vote_cast(poll=poll, voter=first, option_ids=[option["A"]])
    services.vote_cast(poll=poll, voter=first, option_ids=[option["B"]])
    services.vote_withdraw(poll=poll, voter=first)
    cache.clear()  # the window's gate, as when the window passes
    from notifications.models import VoteBatch

    VoteBatch.objects.filter(poll_id=poll.pk).update(
        notified_at=timezone.now() - timezone.timedelta(seconds=61)
    )
    services.vote_cast(poll=poll, voter=second, option_ids=[option["C"]])
    notification_services.vote_batch_flush(poll=poll, force=True)

    assert texts(owner, Kind.VOTES) == ["1 new vote on “Lunch?”", "1 new vote on “Lunch?”"]
