"""Live tallies in a real browser: pushes between tabs, the no-JS form, dropped sockets,
the live viewer count and results shown only after voting."""

import re
from unittest import mock

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from core.voters import Voter, new_voter_token
from polls import services
from polls.models import Poll
from polls.viewers import VIEWER_TTL
from tests.browser.conftest import cast_api_vote
from tests.polls.factories import PollFactory
from tests.server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE = 10_000  # ms: a push normally lands well within a second; allow for a loaded machine
RECOVER = 30_000  # ms: reconnect back-off after a drop is randomised and grows per attempt


def votes(count: int) -> re.Pattern:
    """The tally's total, e.g. "1 vote" or "3 votes", and not "11 votes"."""
    noun = "vote" if count == 1 else "votes"
    return re.compile(rf"(?<!\d){count} {noun}\b")


def watching(count: int) -> re.Pattern:
    return re.compile(rf"(?<!\d){count} watching live")


def open_poll(context: BrowserContext, base_url: str, poll: Poll, *, live: bool = True) -> Page:
    """Open the poll page; with live, wait until its socket is open."""
    page = context.new_page()
    page.goto(f"{base_url}{poll.get_absolute_url()}")
    if live:
        expect(page.locator("body")).to_have_attribute("data-live", "on", timeout=LIVE)
        # Marks this document: a reload would lose it.
        page.evaluate("window.tallyNoReload = true")
    return page


def not_reloaded(page: Page) -> bool:
    return page.evaluate("window.tallyNoReload === true")


def vote_in_page(page: Page, option_text: str) -> None:
    page.get_by_label(option_text, exact=True).check()
    page.get_by_role("button", name="Vote").click()


def tally(page: Page):
    return page.locator("#tally")


def viewers(page: Page):
    return page.locator("#viewers")


@pytest.fixture
def two_voters(browser_context, live_daphne: LiveServer):
    """Two browser contexts: two voters with their own cookies."""
    return browser_context(live_daphne.url), browser_context(live_daphne.url)


def test_a_vote_in_one_tab_shows_in_the_other_without_reload(two_voters, live_daphne):
    poll = PollFactory(options=["Red", "Green", "Blue"])
    watcher = open_poll(two_voters[0], live_daphne.url, poll)
    voter = open_poll(two_voters[1], live_daphne.url, poll)
    expect(tally(watcher)).to_contain_text("Be the first to vote!")

    vote_in_page(voter, "Red")

    expect(voter.locator("#notice")).to_have_text("Your vote is in.", timeout=LIVE)
    expect(voter.locator("#vote-panel")).to_contain_text("You voted for Red.")
    expect(tally(voter)).to_contain_text(votes(1))
    expect(tally(watcher)).to_contain_text(votes(1), timeout=LIVE)
    expect(tally(watcher)).to_contain_text("100.0% · 1")
    expect(watcher.get_by_role("button", name="Vote")).to_be_visible()  # the watcher has not voted
    assert not_reloaded(watcher)
    assert not_reloaded(voter)

    # And back the other way: the first tab votes, the second sees it.
    vote_in_page(watcher, "Green")
    expect(watcher.locator("#vote-panel")).to_contain_text("You voted for Green.", timeout=LIVE)
    expect(tally(voter)).to_contain_text(votes(2), timeout=LIVE)
    expect(tally(voter)).to_contain_text("50.0% · 1")
    assert not_reloaded(voter)


def test_a_browser_without_javascript_votes_through_the_plain_form(browser_context, live_daphne):
    poll = PollFactory(options=["Red", "Green"])
    context = browser_context(live_daphne.url, java_script_enabled=False)
    page = open_poll(context, live_daphne.url, poll, live=False)
    posts = []
    page.on(
        "response",
        lambda response: (
            posts.append(response.status) if response.request.method == "POST" else None
        ),
    )

    vote_in_page(page, "Green")

    expect(page).to_have_url(re.compile(rf"{re.escape(poll.get_absolute_url())}\?voted=1$"))
    assert posts == [303]
    expect(page.locator("#notice")).to_have_text("Your vote is in.")
    expect(page.locator("#vote-panel")).to_contain_text("You voted for Green.")
    expect(tally(page)).to_contain_text(votes(1))
    expect(tally(page)).to_contain_text("100.0% · 1")
    expect(page.get_by_role("button", name="Vote")).to_have_count(0)

    # A returning voter still sees their choice.
    page.goto(f"{live_daphne.url}{poll.get_absolute_url()}")
    expect(page.locator("#vote-panel")).to_contain_text("You voted for Green.")


def test_a_dropped_socket_reconnects_and_catches_up(
    browser_context, live_daphne, flaky_proxy, api_vote
):
    poll = PollFactory(options=["Red", "Green", "Blue"])
    context = browser_context(flaky_proxy.url)
    page = open_poll(context, flaky_proxy.url, poll)
    api_vote(poll, "Red")
    expect(tally(page)).to_contain_text(votes(1), timeout=LIVE)

    flaky_proxy.cut()
    expect(page.locator("body")).not_to_have_attribute("data-live", "on", timeout=LIVE)
    api_vote(poll, "Green")
    api_vote(poll, "Blue")
    expect(tally(page)).to_contain_text(votes(1))  # nothing can reach the page yet
    flaky_proxy.restore()

    expect(tally(page)).to_contain_text(votes(3), timeout=RECOVER)
    for share in ("33.3% · 1",):
        expect(tally(page)).to_contain_text(share)
    # The socket itself comes back, and pushes flow again.
    expect(page.locator("body")).to_have_attribute("data-live", "on", timeout=RECOVER)
    api_vote(poll, "Red")
    expect(tally(page)).to_contain_text(votes(4), timeout=LIVE)
    expect(tally(page)).to_contain_text("50.0% · 2")
    assert not_reloaded(page)


def test_a_restarted_server_is_reconnected_to_and_caught_up(browser_context, restartable_daphne):
    daphne = restartable_daphne
    poll = PollFactory(options=["Red", "Green", "Blue"])
    page = open_poll(browser_context(daphne.url), daphne.url, poll)
    expect(viewers(page)).to_contain_text(watching(1), timeout=LIVE)
    cast_api_vote(daphne.server, poll, "Red")
    expect(tally(page)).to_contain_text(votes(1), timeout=LIVE)

    daphne.stop()
    expect(page.locator("body")).not_to_have_attribute("data-live", "on", timeout=LIVE)
    # While no server runs, a vote lands in the database (as through another server
    # process); nobody is left to announce it.
    with mock.patch("polls.services.votes.announce"):
        services.vote_cast(
            poll=poll,
            voter=Voter(token=new_voter_token(), ip="192.0.2.1"),
            option_ids=[poll.options.get(text="Green").pk],
        )
    daphne.start()  # same port

    expect(tally(page)).to_contain_text(votes(2), timeout=RECOVER)
    expect(page.locator("body")).to_have_attribute("data-live", "on", timeout=RECOVER)
    cast_api_vote(daphne.server, poll, "Blue")
    expect(tally(page)).to_contain_text(votes(3), timeout=LIVE)
    expect(tally(page)).to_contain_text("33.3% · 1")
    assert not_reloaded(page)

    # One tab is open, so one viewer: the socket the stopped process lost without a
    # goodbye stops counting once its entry expires.
    expect(viewers(page)).to_contain_text(watching(1), timeout=(VIEWER_TTL + 15) * 1000)


def test_the_live_viewer_count_follows_open_tabs(two_voters, live_daphne):
    poll = PollFactory(options=["Red", "Green"])
    first = open_poll(two_voters[0], live_daphne.url, poll)
    second = open_poll(two_voters[1], live_daphne.url, poll)

    expect(viewers(first)).to_contain_text(watching(2), timeout=LIVE)
    expect(viewers(second)).to_contain_text(watching(2), timeout=LIVE)

    two_voters[1].close()

    expect(viewers(first)).to_contain_text(watching(1), timeout=LIVE)
    assert not_reloaded(first)


def test_results_after_voting_stay_hidden_until_this_browser_votes(
    two_voters, live_daphne, api_vote
):
    poll = PollFactory(
        options=["Red", "Green", "Blue"], results_visibility=Poll.ResultsVisibility.AFTER_VOTE
    )
    waiting = open_poll(two_voters[0], live_daphne.url, poll)
    voter = open_poll(two_voters[1], live_daphne.url, poll)
    expect(tally(waiting)).to_contain_text("Results appear once you have voted.")

    vote_in_page(voter, "Red")

    expect(voter.locator("#vote-panel")).to_contain_text("You voted for Red.", timeout=LIVE)
    expect(tally(voter)).to_contain_text("100.0% · 1")
    expect(voter.locator("#tally [data-bar]")).to_have_count(3)
    # The waiting tab learns that a vote came in, but not how it went.
    expect(tally(waiting)).to_contain_text("1 vote so far", timeout=LIVE)
    expect(tally(waiting)).to_contain_text("Results appear once you have voted.")
    expect(waiting.locator("#tally [data-bar]")).to_have_count(0)
    expect(tally(waiting)).not_to_contain_text("%")

    vote_in_page(waiting, "Green")

    expect(waiting.locator("#vote-panel")).to_contain_text("You voted for Green.", timeout=LIVE)
    expect(waiting.locator("#tally [data-bar]")).to_have_count(3)
    expect(tally(waiting)).to_contain_text(votes(2))
    expect(tally(waiting)).to_contain_text("50.0% · 1")
    # Its socket now carries the numbers too.
    api_vote(poll, "Blue")
    expect(tally(waiting)).to_contain_text(votes(3), timeout=LIVE)
    expect(tally(waiting)).to_contain_text("33.3% · 1")
    expect(waiting.locator("#tally [data-bar]")).to_have_count(3)
    expect(tally(voter)).to_contain_text(votes(3), timeout=LIVE)
    assert not_reloaded(waiting)
