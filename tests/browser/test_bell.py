"""The notification bell in a real browser: every open tab of the owner follows it live."""

import time

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.test_live_tally import open_poll, vote_in_page
from tests.helpers import session_id
from tests.polls.factories import PollFactory
from tests.server import LiveServer, run_daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE = 10_000  # ms: a push normally lands well within a second; allow for a loaded machine
BATCH_SECONDS = 1


@pytest.fixture(scope="module")
def bell_server(django_db_setup, tmp_path_factory):
    """A server whose vote notices are batched over one second instead of minutes."""
    env = {"NOTIFY_VOTE_BATCH_SECONDS": str(BATCH_SECONDS)}
    with run_daphne(log_dir=tmp_path_factory.mktemp("bell"), env=env) as server:
        yield server


def signed_in(browser_context, server: LiveServer, user, **options) -> BrowserContext:
    """A browser context carrying a session of user; options as for new_context."""
    context = browser_context(server.url, **options)
    context.add_cookies([{"name": "sessionid", "value": session_id(user), "url": server.url}])
    return context


def open_live(context: BrowserContext, url: str) -> Page:
    """Open url and wait until the page's bell socket is connected."""
    page = context.new_page()
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-live", "on", timeout=LIVE)
    page.evaluate("window.tallyNoReload = true")
    return page


def badge(page: Page):
    return page.locator("#bell-badge")


def test_owner_tabs_follow_votes_and_reading(browser_context, bell_server, django_user_model):
    """Votes from another browser raise the badge in both of the owner's tabs without a
    reload; marking all read in one tab clears the badge in both."""
    owner = django_user_model.objects.create_user(username="bellowner", password="x" * 20)
    poll = PollFactory(question="Best season?", options=["Spring", "Autumn"], owner=owner)
    owner_context = signed_in(browser_context, bell_server, owner)
    my_polls = open_live(owner_context, f"{bell_server.url}/my/")
    home = open_live(owner_context, f"{bell_server.url}/")
    for tab in (my_polls, home):
        expect(badge(tab)).to_have_attribute("data-unread", "0")
        expect(badge(tab)).to_be_hidden()

    first_voter = open_poll(browser_context(bell_server.url), bell_server.url, poll)
    vote_in_page(first_voter, "Spring")

    for tab in (my_polls, home):
        expect(badge(tab)).to_have_attribute("data-unread", "1", timeout=LIVE)
        expect(badge(tab)).to_have_text("1 unread")
        expect(tab.locator("#toasts")).to_contain_text("1 new vote on “Best season?”")
    expect(my_polls.locator(f"#my-count-{poll.code}")).to_have_text("1", timeout=LIVE)

    time.sleep(BATCH_SECONDS + 0.5)  # the batch window passes
    second_voter = open_poll(browser_context(bell_server.url), bell_server.url, poll)
    vote_in_page(second_voter, "Autumn")

    for tab in (my_polls, home):
        expect(badge(tab)).to_have_attribute("data-unread", "2", timeout=LIVE)
    expect(my_polls.locator(f"#my-count-{poll.code}")).to_have_text("2", timeout=LIVE)

    my_polls.get_by_role("link", name="Notifications").click()
    expect(my_polls.locator("#inbox")).to_contain_text("1 new vote on “Best season?”")
    my_polls.get_by_role("button", name="Mark all read").click()

    for tab in (my_polls, home):
        expect(badge(tab)).to_have_attribute("data-unread", "0", timeout=LIVE)
        expect(badge(tab)).to_be_hidden()
    expect(my_polls.locator("#inbox")).not_to_contain_text("Mark read")
    assert home.evaluate("window.tallyNoReload === true")


def test_toast_can_be_dismissed(browser_context, bell_server, django_user_model):
    """A toast closes with its dismiss button."""
    owner = django_user_model.objects.create_user(username="toastowner", password="x" * 20)
    poll = PollFactory(question="Tea or coffee?", options=["Tea", "Coffee"], owner=owner)
    tab = open_live(signed_in(browser_context, bell_server, owner), f"{bell_server.url}/")

    voter = open_poll(browser_context(bell_server.url), bell_server.url, poll)
    vote_in_page(voter, "Tea")

    toast = tab.locator("[data-toast]")
    expect(toast).to_contain_text("1 new vote on “Tea or coffee?”", timeout=LIVE)
    toast.get_by_role("button", name="Dismiss").click()
    expect(toast).to_have_count(0)


def test_open_list_shows_new_notifications(browser_context, bell_server, django_user_model):
    """The notification list follows new notifications while it is open."""
    owner = django_user_model.objects.create_user(username="listowner", password="x" * 20)
    poll = PollFactory(question="Cats or dogs?", options=["Cats", "Dogs"], owner=owner)
    tab = open_live(
        signed_in(browser_context, bell_server, owner), f"{bell_server.url}/notifications/"
    )
    expect(tab.locator("#inbox")).to_contain_text("Nothing here yet")

    voter = open_poll(browser_context(bell_server.url), bell_server.url, poll)
    vote_in_page(voter, "Dogs")

    expect(tab.locator("#inbox")).to_contain_text("1 new vote on “Cats or dogs?”", timeout=LIVE)
    expect(tab.get_by_role("button", name="Mark all read")).to_be_visible()
    assert tab.evaluate("window.tallyNoReload === true")


def test_settings_suggest_the_browsers_time_zone(browser_context, bell_server, django_user_model):
    """Before quiet hours are set, the time zone offered is the browser's, not UTC."""
    owner = django_user_model.objects.create_user(username="zoneowner", password="x" * 20)
    context = signed_in(browser_context, bell_server, owner, timezone_id="Europe/Berlin")
    page = context.new_page()
    page.goto(f"{bell_server.url}/notifications/settings")

    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
