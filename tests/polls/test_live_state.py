"""Everything an open poll page shows follows the poll over its socket (SPEC 4): closing,
reopening, edits, reveals and comments, with visibility decided afresh on every push."""

import re

import pytest
from channels.db import database_sync_to_async

from core.voters import Voter, new_voter_token
from polls import services
from polls.models import Ballot, Poll
from tests.helpers import receive_until
from tests.polls.factories import PollFactory
from tests.polls.test_consumers import DEADLINE, cast, connect

pytestmark = [pytest.mark.django_db(transaction=True)]


def shows_numbers(html: str) -> bool:
    return bool(re.search(r"\d+\.\d% · \d+", html))


def hides_numbers(html: str) -> bool:
    return 'id="tally"' in html and "Results appear" in html


async def opened(poll, *, token=None, present=False):
    communicator = connect(poll, token=token)
    if present:
        communicator.scope["query_string"] = b"present=1"
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_from(timeout=DEADLINE)  # the snapshot
    return communicator


async def test_closing_and_reopening_reach_an_open_page():
    """A close swaps in the Closed badge and "This poll is closed" for the form; a reopen
    brings the form back."""
    poll = await database_sync_to_async(PollFactory)()
    page = await opened(poll)

    await database_sync_to_async(services.poll_close)(poll=poll)
    closed = await receive_until(page, lambda html: 'id="ballot"' in html)
    assert ">Closed</span>" in closed
    assert "This poll is closed." in closed
    assert 'name="option"' not in closed
    assert "final results" in closed

    await database_sync_to_async(services.poll_reopen)(poll=poll)
    reopened = await receive_until(page, lambda html: 'id="ballot"' in html)
    assert ">Open</span>" in reopened
    assert 'name="option"' in reopened
    await page.disconnect()


async def test_an_edited_question_reaches_an_open_page():
    """The corrected question, marked edited once there are votes, shows without reload."""
    poll = await database_sync_to_async(PollFactory)(question="Lunch spto?")
    await cast(poll)
    page = await opened(poll)

    await database_sync_to_async(services.poll_update)(
        poll=poll,
        question="Lunch spot?",
        description="",
        allow_comments=True,
        listed=True,
        results_visibility=poll.results_visibility,
        closes_at=None,
        timezone_name="UTC",
    )
    frame = await receive_until(page, lambda html: 'id="poll-heading"' in html)
    assert "Lunch spot?" in frame
    assert "(edited)" in frame
    await page.disconnect()


async def test_comments_posted_and_removed_reach_an_open_page():
    """A vote's comment appears in the list on open pages; the owner removing it takes it away."""
    poll = await database_sync_to_async(PollFactory)()
    page = await opened(poll)
    option = await database_sync_to_async(lambda: poll.options.first().pk)()
    voter = Voter(token=new_voter_token(), ip="127.0.0.1")

    await database_sync_to_async(services.vote_cast)(
        poll=poll, voter=voter, option_ids=[option], comment="Pizza, always"
    )
    posted = await receive_until(page, lambda html: 'id="comments"' in html and "Pizza" in html)
    assert "Pizza, always" in posted
    ballot_id = await database_sync_to_async(lambda: Ballot.objects.get(poll=poll).pk)()

    await database_sync_to_async(services.comment_remove)(poll=poll, ballot_id=ballot_id)
    removed = await receive_until(
        page, lambda html: 'id="comments"' in html and "Pizza" not in html
    )
    assert "hidden" in removed.split(">", 1)[0]
    await page.disconnect()


async def test_tightening_visibility_stops_the_numbers_on_sockets_opened_before():
    """A socket that saw numbers at connect stops getting them once the owner switches the
    poll to results after close: its next tally is the hidden variant."""
    poll = await database_sync_to_async(PollFactory)()
    page = await opened(poll)

    await database_sync_to_async(services.poll_update)(
        poll=poll,
        question=poll.question,
        description="",
        allow_comments=True,
        listed=True,
        results_visibility=Poll.ResultsVisibility.AFTER_CLOSE,
        closes_at=None,
        timezone_name="UTC",
    )
    await receive_until(page, hides_numbers)
    await cast(poll)
    pushed = await receive_until(
        page, lambda html: 'id="tally"' in html and "1</span> vote" in html
    )
    assert not shows_numbers(pushed)
    await page.disconnect()


async def test_reopening_hides_final_results_again_from_a_voter_who_has_not_voted():
    """Results after close: a closed poll shows numbers; reopened, old sockets stop them."""
    poll = await database_sync_to_async(PollFactory)(
        results_visibility=Poll.ResultsVisibility.AFTER_CLOSE
    )
    await cast(poll)
    await database_sync_to_async(services.poll_close)(poll=poll)
    page = await opened(poll)

    await database_sync_to_async(services.poll_reopen)(poll=poll)
    await receive_until(page, hides_numbers)
    await cast(poll)
    pushed = await receive_until(page, lambda html: "2</span> vote" in html)
    assert not shows_numbers(pushed)
    await page.disconnect()


async def test_a_reveal_shows_everyone_the_numbers_and_hiding_takes_them_back():
    """The owner's reveal reaches a voter's socket and a presenter socket; revealed=0
    returns both to the setting."""
    poll = await database_sync_to_async(PollFactory)(
        results_visibility=Poll.ResultsVisibility.AFTER_CLOSE
    )
    await cast(poll)
    page = await opened(poll, token=new_voter_token())
    presenter = await opened(poll, present=True)

    await database_sync_to_async(services.poll_reveal)(poll=poll, revealed=True)
    for socket in (page, presenter):
        await receive_until(socket, shows_numbers)

    await database_sync_to_async(services.poll_reveal)(poll=poll, revealed=False)
    for socket in (page, presenter):
        await receive_until(socket, hides_numbers)
    await page.disconnect()
    await presenter.disconnect()


async def test_a_presenter_socket_gets_no_vote_form_or_comments():
    """The presenter view's state pushes carry the heading and the tally, not the form."""
    poll = await database_sync_to_async(PollFactory)()
    presenter = await opened(poll, present=True)

    await database_sync_to_async(services.poll_close)(poll=poll)
    frame = await receive_until(presenter, lambda html: 'id="poll-heading"' in html)
    assert 'id="tally"' in frame
    assert 'id="ballot"' not in frame
    assert 'id="comments"' not in frame
    await presenter.disconnect()
