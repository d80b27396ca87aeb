"""The presenter view, the reveal switch, signed-in-only polls, and edits that never undo
a close or let a stale page vote for a renamed option."""

import pytest

from polls import selectors, services
from polls.models import Poll
from tests.helpers import post_form, post_json, text
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db


def edit(poll: Poll, **changes) -> Poll:
    arguments = {
        "question": poll.question,
        "description": poll.description,
        "allow_comments": poll.allow_comments,
        "listed": poll.listed,
        "results_visibility": poll.results_visibility,
        "closes_at": poll.closes_at,
        "timezone_name": poll.timezone,
        **changes,
    }
    return services.poll_update(poll=poll, **arguments)


def test_an_edit_from_a_copy_loaded_before_a_close_leaves_the_poll_closed():
    """The owner's edit form was loaded, then the poll closed: saving the edit keeps it
    closed (the update writes only the edited fields, from the row as it is now)."""
    poll = PollFactory(question="Lunch spto?")
    stale = Poll.objects.get(pk=poll.pk)
    services.poll_close(poll=Poll.objects.get(pk=poll.pk))

    edit(stale, question="Lunch spot?")

    fresh = Poll.objects.get(pk=poll.pk)
    assert fresh.closed_at is not None
    assert fresh.question == "Lunch spot?"


def test_a_page_open_before_a_rename_cannot_vote_for_the_new_text(voter):
    """Renaming an option gives it a new id: a vote sent with the old id is refused and
    nothing is counted for the renamed option."""
    poll = PollFactory(options=["Pizza", "Sushi"])
    old_pizza = poll.options.get(text="Pizza").pk
    edit(poll, options=["Salad", "Sushi"])

    response = post_json(voter, f"/poll/{poll.code}/vote", {"option": old_pizza})

    assert response.status_code in (400, 409)
    assert selectors.poll_tally(poll=poll).total_votes == 0
    assert not poll.options.filter(pk=old_pizza).exists()


def test_the_presenter_view_shows_question_join_link_qr_and_live_socket(client):
    """/present shows the question, the join link in words, the QR code and joins the socket."""
    poll = PollFactory(question="Best talk today?")

    page = text(client.get(f"/poll/{poll.code}/present"))

    assert "Best talk today?" in page
    assert f"testserver/poll/{poll.code}" in page
    assert f"/poll/{poll.code}/qr.svg" in page
    assert f'ws-connect="/ws/poll/{poll.code}/?present=1"' in page
    assert 'id="tally"' in page
    assert "Keyboard shortcuts" in page


def test_the_presenter_view_shows_only_what_this_browser_may_see(client):
    """A visitor's presenter view of a results-after-close poll has no numbers."""
    poll = PollFactory(results_visibility=Poll.ResultsVisibility.AFTER_CLOSE)

    page = text(client.get(f"/poll/{poll.code}/present"))

    assert "Results appear when the poll closes." in page
    assert "Reveal results" not in page


def test_the_owner_reveals_and_hides_the_results(voter):
    """POST /reveal: revealed=1 shows everyone the numbers (results_revealed in the JSON),
    revealed=0 returns to the setting; only the owner may, and bad values are 400."""
    response = post_form(
        voter,
        "/create",
        {"question": "Secret?", "options": ["Yes", "No"], "results_visibility": "after_close"},
    )
    assert response.status_code == 303
    poll = Poll.objects.get(question="Secret?")
    assert "Reveal results to everyone" in text(voter.get(f"/poll/{poll.code}/present"))

    revealed = post_json(voter, f"/poll/{poll.code}/reveal", {"revealed": "1"})
    assert revealed.status_code == 200
    assert revealed.json()["results_revealed"] is True
    from tests.helpers import open_browser

    outsider = open_browser()
    public = outsider.get(f"/poll/{poll.code}/results").json()
    assert public["results_visible"] is True
    assert public["results_revealed"] is True
    assert post_json(outsider, f"/poll/{poll.code}/reveal", {"revealed": "0"}).status_code == 403

    hidden = post_form(voter, f"/poll/{poll.code}/reveal", {"revealed": "0"})
    assert hidden.status_code == 303
    assert outsider.get(f"/poll/{poll.code}/results").json()["results_visible"] is False
    bad = post_json(voter, f"/poll/{poll.code}/reveal", {"revealed": "maybe"})
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "revealed"


def test_present_links_on_the_share_page_and_the_owners_poll_page(voter):
    """The share page and the owner's panel on the poll page link to the presenter view."""
    response = post_form(voter, "/create", {"question": "Demo?", "options": ["A", "B"]})
    poll = Poll.objects.get(question="Demo?")
    present = f'href="/poll/{poll.code}/present"'
    assert present in text(voter.get(response["Location"]))
    assert present in text(voter.get(f"/poll/{poll.code}"))


def test_anonymous_visitors_of_a_signed_in_only_poll_get_a_sign_in_link(client):
    """Signed-in only: no vote form, a "Sign in to vote" link returning to the poll."""
    poll = PollFactory(protection=Poll.Protection.ACCOUNT)

    page = text(client.get(f"/poll/{poll.code}"))

    assert "Sign in to vote" in page
    assert f"/accounts/login/?next=/poll/{poll.code}" in page
    assert 'name="option"' not in page


def test_signed_in_users_get_the_form_on_a_signed_in_only_poll(signed_in):
    """A signed-in visitor sees the vote form and can vote."""
    poll = PollFactory(protection=Poll.Protection.ACCOUNT)
    page = text(signed_in.get(f"/poll/{poll.code}"))
    assert 'name="option"' in page
    assert "Sign in to vote" not in page
    option = poll.options.first().pk
    assert post_form(signed_in, f"/poll/{poll.code}/vote", {"option": option}).status_code == 303
