import pytest

from tests.helpers import post_json

pytestmark = pytest.mark.django_db


def test_vote_by_json_is_counted_once(voter, poll):
    """A JSON vote is accepted with 201 and a second one from the same voter gets 409."""
    option = poll.options.first()
    first = post_json(voter, f"/poll/{poll.code}/vote", {"option": option.id})
    second = post_json(voter, f"/poll/{poll.code}/vote", {"option": option.id})
    assert first.status_code == 201
    assert first.json()["your_vote"] == [option.id]
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "already_voted"
    assert voter.get(f"/poll/{poll.code}/results").json()["total_votes"] == 1
