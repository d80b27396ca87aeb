"""The room test in a real browser: stale tokens, live poll state across tabs, the presenter
view, signed-in-only polls and a keyboard-only create-and-vote flow."""

import re

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from polls.models import Poll
from tests.accounts.factories import PASSWORD, UserFactory
from tests.browser.test_bell import signed_in
from tests.browser.test_live_tally import open_poll, tally, votes
from tests.polls.factories import PollFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PUSH = 5_000  # ms: what the room may wait for a state change to reach every open tab
BARS = 2_000  # ms: what the presenter's bars may take to follow a vote


def page_text(page: Page) -> str:
    return page.locator("body").inner_text()


def log_in(page: Page, base_url: str, user, next_url: str = "") -> None:
    """Sign in through the log-in form, as a person would."""
    page.goto(f"{base_url}/accounts/login/" + (f"?next={next_url}" if next_url else ""))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def csrf_cookie(context: BrowserContext) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")


def total_votes(base_url: str, poll) -> int:
    response = httpx.get(f"{base_url}/poll/{poll.code}/results", timeout=30)
    return response.json()["total_votes"]


def vote_form(page: Page):
    return page.locator("#vote-panel form[action$='/vote']")


def choose(page: Page, option_text: str, comment: str = "") -> None:
    page.get_by_label(option_text, exact=True).check()
    if comment:
        page.get_by_role("textbox", name="Comment").fill(comment)
    page.get_by_role("button", name="Vote").click()


# 1. Stale tokens ------------------------------------------------------------------------


@pytest.mark.parametrize("change", ["log in", "log out"])
def test_a_vote_after_signing_in_or_out_in_another_tab_counts(browser_context, live_daphne, change):
    """The poll tab was rendered before the other tab changed who is signed in."""
    user = UserFactory()
    poll = PollFactory(options=["Red", "Green"])
    context = browser_context(live_daphne.url)
    other = context.new_page()
    if change == "log out":
        log_in(other, live_daphne.url, user)
    voting = open_poll(context, live_daphne.url, poll)
    before = csrf_cookie(context)

    if change == "log in":
        log_in(other, live_daphne.url, user)
        expect(other.get_by_role("button", name="Log out")).to_be_visible()
        assert csrf_cookie(context) != before, "signing in rotates the CSRF token"
    else:
        other.goto(f"{live_daphne.url}/")
        other.get_by_role("button", name="Log out").click()
        expect(other.get_by_role("link", name="Log in")).to_be_visible()

    choose(voting, "Green", comment="Green like grass")
    panel = voting.locator("#vote-panel")
    expect(panel).to_contain_text(re.compile("You voted for|not sent yet"), timeout=PUSH)
    if "not sent yet" in panel.inner_text():  # the kept form, sent again with one click
        expect(voting.get_by_label("Green", exact=True)).to_be_checked()
        voting.get_by_role("button", name="Vote").click()
    expect(panel).to_contain_text("You voted for Green.", timeout=PUSH)
    expect(tally(voting)).to_contain_text(votes(1))
    for tab in (voting, other):
        assert "csrf" not in page_text(tab).lower()
    assert total_votes(live_daphne.url, poll) == 1


def test_without_javascript_a_stale_vote_keeps_the_choice_and_counts_after_one_click(
    browser_context, live_daphne
):
    user = UserFactory()
    poll = PollFactory(options=["Red", "Green"])
    context = browser_context(live_daphne.url, java_script_enabled=False)
    voting = open_poll(context, live_daphne.url, poll, live=False)
    other = context.new_page()
    log_in(other, live_daphne.url, user)
    expect(other.get_by_role("button", name="Log out")).to_be_visible()

    choose(voting, "Green", comment="Green like grass")

    expect(voting.locator("#notice")).to_contain_text("Your vote was not sent yet")
    expect(voting.get_by_label("Green", exact=True)).to_be_checked()
    expect(voting.get_by_role("textbox", name="Comment")).to_have_value("Green like grass")
    assert "csrf" not in page_text(voting).lower()

    voting.get_by_role("button", name="Vote").click()

    expect(voting).to_have_url(re.compile(r"\?voted=1$"))
    expect(voting.locator("#vote-panel")).to_contain_text("You voted for Green.")
    expect(tally(voting)).to_contain_text(votes(1))
    assert "csrf" not in page_text(voting).lower()
    assert total_votes(live_daphne.url, poll) == 1


# 2. Live state across tabs ----------------------------------------------------------------


def open_badge(page: Page):
    return page.locator("#poll-status")


def test_close_reopen_comments_and_an_edited_question_reach_every_open_tab(
    browser_context, live_daphne
):
    owner = UserFactory()
    poll = PollFactory(question="Where do we eat?", options=["Pizza", "Sushi"], owner=owner)
    first = open_poll(browser_context(live_daphne.url), live_daphne.url, poll)
    second = open_poll(browser_context(live_daphne.url), live_daphne.url, poll)
    tabs = (first, second)
    owner_tab = open_poll(signed_in(browser_context, live_daphne, owner), live_daphne.url, poll)

    owner_tab.get_by_role("button", name="Close now").click()
    for tab in tabs:
        expect(open_badge(tab)).to_contain_text("Closed", timeout=PUSH)
        expect(vote_form(tab)).to_have_count(0, timeout=PUSH)
        expect(tab.locator("#vote-panel")).to_contain_text("This poll is closed.")

    owner_tab.get_by_role("button", name="Reopen").click()
    for tab in tabs:
        expect(open_badge(tab)).to_contain_text("Open", timeout=PUSH)
        expect(vote_form(tab)).to_have_count(1, timeout=PUSH)
        expect(tab.get_by_role("button", name="Vote")).to_be_enabled()

    commenter = open_poll(browser_context(live_daphne.url), live_daphne.url, poll)
    choose(commenter, "Sushi", comment="Fresh fish on Fridays")
    for tab in tabs:
        expect(tab.locator("#comments")).to_be_visible(timeout=PUSH)
        expect(tab.locator("#comments")).to_contain_text("Fresh fish on Fridays")
        expect(tally(tab)).to_contain_text(votes(1))

    owner_tab.goto(f"{live_daphne.url}/poll/{poll.code}/edit")
    owner_tab.get_by_label("Question").fill("Where do we eat on Friday?")
    owner_tab.get_by_role("button", name="Save changes").click()
    expect(owner_tab.locator("#poll-question")).to_contain_text("Where do we eat on Friday?")
    for tab in tabs:
        expect(tab.locator("#poll-question")).to_contain_text(
            "Where do we eat on Friday?", timeout=PUSH
        )
        expect(tab.locator("#poll-question")).to_contain_text("(edited)")
        assert tab.evaluate("window.tallyNoReload === true")


# 3. Presenter view ----------------------------------------------------------------------


def bar_widths(page: Page) -> list[str]:
    return page.locator("#tally [data-bar]").evaluate_all("bars => bars.map(b => b.style.width)")


@pytest.mark.parametrize(
    "viewport", [{"width": 1920, "height": 1080}, {"width": 390, "height": 844}], ids=str
)
def test_the_presenter_view_shows_the_room_and_follows_votes(
    browser_context, live_daphne, api_vote, viewport
):
    poll = PollFactory(question="Which talk next?", options=["Rust", "Django"])
    api_vote(poll, "Rust")
    page = browser_context(live_daphne.url, viewport=viewport).new_page()
    page.goto(f"{live_daphne.url}/poll/{poll.code}/present")
    expect(page.locator("body")).to_have_attribute("data-live", "on", timeout=PUSH)

    expect(page.get_by_role("heading", name="Which talk next?")).to_be_visible()
    join = page.locator(".present-join-url")
    expect(join).to_be_visible()
    expect(join).to_contain_text(f"/poll/{poll.code}")
    qr = page.locator("img[data-qr]")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    for element in (join, qr, page.locator("#tally")):
        box = element.bounding_box()
        assert box["x"] >= 0, box
        assert box["x"] + box["width"] <= viewport["width"] + 1, box
    assert [float(w.rstrip("%")) for w in bar_widths(page)] == [100, 0]

    api_vote(poll, "Django")
    expect(page.locator("#tally [data-bar]").first).to_have_attribute(
        "style", re.compile(r"width: 50(\.0)?%"), timeout=BARS
    )
    expect(tally(page)).to_contain_text(votes(2))

    shortcuts = page.locator("#shortcuts")
    expect(shortcuts).to_be_hidden()
    page.keyboard.press("?")
    expect(shortcuts).to_be_visible()
    expect(shortcuts).to_contain_text("Full screen on or off")
    page.keyboard.press("Escape")
    expect(shortcuts).to_be_hidden()


def test_revealing_and_hiding_reaches_presenter_and_voters(browser_context, live_daphne, api_vote):
    owner = UserFactory()
    poll = PollFactory(
        question="Best editor?",
        options=["Vim", "Emacs"],
        owner=owner,
        results_visibility=Poll.ResultsVisibility.AFTER_CLOSE,
    )
    api_vote(poll, "Vim")
    owner_view = signed_in(browser_context, live_daphne, owner).new_page()
    owner_view.goto(f"{live_daphne.url}/poll/{poll.code}/present")
    projector = browser_context(live_daphne.url).new_page()  # a screen nobody signed in on
    projector.goto(f"{live_daphne.url}/poll/{poll.code}/present")
    voter = open_poll(browser_context(live_daphne.url), live_daphne.url, poll)
    for tab in (owner_view, projector):
        expect(tab.locator("body")).to_have_attribute("data-live", "on", timeout=PUSH)

    # The owner sees the numbers while they are hidden from everyone else.
    expect(owner_view.locator("#tally [data-bar]")).to_have_count(2)
    for tab in (projector, voter):
        expect(tally(tab)).to_contain_text("Results appear when the poll closes.")
        expect(tab.locator("#tally [data-bar]")).to_have_count(0)

    owner_view.get_by_role("button", name="Reveal results to everyone").click()
    expect(owner_view.get_by_role("button", name="Hide results from voters")).to_be_visible()
    for tab in (projector, voter):
        expect(tab.locator("#tally [data-bar]")).to_have_count(2, timeout=PUSH)
        expect(tally(tab)).to_contain_text("100.0% · 1")

    owner_view.get_by_role("button", name="Hide results from voters").click()
    expect(owner_view.get_by_role("button", name="Reveal results to everyone")).to_be_visible()
    for tab in (projector, voter):
        expect(tab.locator("#tally [data-bar]")).to_have_count(0, timeout=PUSH)
        expect(tally(tab)).to_contain_text("Results appear when the poll closes.")
    expect(owner_view.locator("#tally [data-bar]")).to_have_count(2)


# 4. Signed-in-only polls ----------------------------------------------------------------


def test_signed_in_only_poll_sends_a_visitor_to_sign_in_and_back_to_vote(
    browser_context, live_daphne
):
    user = UserFactory()
    poll = PollFactory(options=["Yes", "No"], protection=Poll.Protection.ACCOUNT)
    page = browser_context(live_daphne.url).new_page()
    page.goto(f"{live_daphne.url}{poll.get_absolute_url()}")

    expect(vote_form(page)).to_have_count(0)
    expect(page.get_by_role("radio")).to_have_count(0)
    page.get_by_role("link", name="Sign in to vote").click()

    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{live_daphne.url}{poll.get_absolute_url()}")
    choose(page, "Yes")
    expect(page.locator("#vote-panel")).to_contain_text("You voted for Yes.", timeout=PUSH)
    assert total_votes(live_daphne.url, poll) == 1


# 5. Keyboard only -----------------------------------------------------------------------


def focused(page: Page) -> dict:
    return page.evaluate(
        """() => {
          const e = document.activeElement;
          return {tag: e.tagName, id: e.id, name: e.getAttribute('name'),
                  text: (e.innerText || '').trim(), role: e.getAttribute('role'),
                  href: e.getAttribute('href'), type: e.getAttribute('type')};
        }"""
    )


def tab_to(page: Page, matches, limit: int = 60) -> dict:
    """Press Tab until the focused element matches; fail if it never does."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        element = focused(page)
        if matches(element):
            return element
    raise AssertionError(f"Tab never reached the element; last focused: {element}")


def test_create_and_vote_with_the_keyboard_only(browser_context, live_daphne):
    page = browser_context(live_daphne.url).new_page()
    page.goto(f"{live_daphne.url}/")
    expect(page.locator("#create-form")).to_be_visible()

    tab_to(page, lambda e: e["id"] == "id_question")
    page.keyboard.type("Tabs or spaces?")
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "id_option_1", "Enter in the question moves to option 1"
    page.keyboard.type("Tabs")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "id_option_2"
    page.keyboard.type("Spaces")
    tab_to(page, lambda e: e["tag"] == "BUTTON" and e["text"] == "Create poll")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/poll/\w+/share$"))
    expect(page.get_by_role("heading", name="Tabs or spaces?")).to_be_visible()
    tab_to(page, lambda e: e["text"] == "Open the poll")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/poll/\w+$"))
    expect(page.locator("body")).to_have_attribute("data-live", "on", timeout=PUSH)
    tab_to(page, lambda e: e["type"] == "radio")
    page.keyboard.press("ArrowDown")  # the radio group: down moves to and picks "Spaces"
    expect(page.get_by_label("Spaces", exact=True)).to_be_checked()
    tab_to(page, lambda e: e["tag"] == "BUTTON" and e["text"] == "Vote")
    page.keyboard.press("Enter")

    outcome = page.locator("[data-outcome]")
    expect(outcome).to_have_text("Your vote is in.", timeout=PUSH)
    expect(outcome).to_be_focused()
    assert focused(page)["role"] == "status"
    expect(page.locator("#vote-panel")).to_contain_text("You voted for Spaces.")
