"""Circles in a real browser: create a circle, join it from a second browser by its link,
create a circle poll, vote in one browser and watch the tally move in the other; and the
circle pages, the join page, the templates page and the report form at phone and desktop
widths (screenshots to $TALLY_SHOTS, to look at)."""

import pytest
from playwright.sync_api import Page, expect

from circles.models import Circle
from polls.models import Poll
from tests.accounts.factories import UserFactory
from tests.browser.test_bell import signed_in
from tests.browser.test_live_tally import open_poll, tally, vote_in_page, votes
from tests.browser.test_screenshots import DESKTOP, PHONE, shots, snap  # noqa: F401
from tests.circles.factories import CircleFactory, circle_poll, member_of
from tests.polls.factories import PollFactory, starter_templates

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE = 10_000  # ms


def test_a_circle_from_creation_to_a_live_vote(browser_context, live_daphne):
    url = live_daphne.url
    admin_user, friend_user = UserFactory(username="ada"), UserFactory(username="bo")
    admin = signed_in(browser_context, live_daphne, admin_user).new_page()
    admin.goto(f"{url}/")
    admin.get_by_role("link", name="Circles").click()
    admin.get_by_role("link", name="New circle").click()
    admin.get_by_label("Name").fill("Book club")
    admin.get_by_label("Most members").fill("5")
    admin.get_by_role("button", name="Create circle").click()
    expect(admin.get_by_role("heading", name="Book club")).to_be_visible()
    invite = admin.get_by_label("Invite link").input_value()
    assert invite == f"{url}/join/{Circle.objects.get().invite_code}"

    friend = signed_in(browser_context, live_daphne, friend_user).new_page()
    friend.goto(invite)
    friend.get_by_role("button", name="Join the circle").click()
    expect(friend.get_by_role("heading", name="Book club")).to_be_visible()
    expect(friend.locator("#members")).to_contain_text("bo")

    admin.reload()
    expect(admin.locator("#members")).to_contain_text("bo")
    admin.get_by_role("button", name="Make a new link").click()
    expect(admin.locator("#invite-status")).to_contain_text("the old one no longer works")
    expect(admin.get_by_label("Invite link")).not_to_have_value(invite)
    expect(admin.get_by_role("button", name="Copy link")).to_be_visible()
    admin.get_by_role("link", name="New poll in this circle").click()
    expect(admin.get_by_label("Who can see it")).to_have_value("book-club")
    admin.get_by_label("Question").fill("Which book next?")
    admin.get_by_label("Option 1").fill("Dune")
    admin.get_by_label("Option 2").fill("Emma")
    admin.get_by_role("button", name="Create poll").click()
    expect(admin.get_by_role("heading", name="Which book next?")).to_be_visible()
    poll = Poll.objects.get(question="Which book next?")
    assert poll.circle.slug == "book-club"

    watching = open_poll(admin.context, url, poll)
    voting = open_poll(friend.context, url, poll)
    vote_in_page(voting, "Emma")
    expect(tally(watching)).to_contain_text(votes(1), timeout=LIVE)
    friend.goto(f"{url}/circles/book-club/")
    expect(friend.locator("main")).to_contain_text("Which book next?")


@pytest.fixture
def circle_site():
    admin = UserFactory(username="ada")
    circle = CircleFactory(
        name="Thursday evening reading group of the neighbourhood library",
        description="We read one book a month and vote on the next.",
        user=admin,
    )
    for name in ("bo", "cy", "a-member-with-a-rather-long-username"):
        member_of(circle, UserFactory(username=name))
    circle_poll(circle, admin, question="Which book should we read in the spring?")
    return admin, circle


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_circle_pages_fit_the_screen(browser_context, live_daphne, shots, viewport, circle_site):  # noqa: F811
    label = "phone" if viewport is PHONE else "desktop"
    url = live_daphne.url
    admin, circle = circle_site
    page: Page = signed_in(browser_context, live_daphne, admin, viewport=viewport).new_page()
    for name, path in (
        ("circles", "/circles/"),
        ("circle-new", "/circles/new"),
        ("circle", f"/circles/{circle.slug}/"),
        ("circle-leave", f"/circles/{circle.slug}/leave"),
        ("circle-poll-create", f"/create?circle={circle.slug}"),
        ("circle-poll", Poll.objects.get(circle=circle).get_absolute_url()),
    ):
        page.goto(f"{url}{path}")
        snap(page, shots, f"{name}-{label}")
    page.goto(f"{url}/circles/new")
    page.get_by_role("button", name="Create circle").click()
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()
    snap(page, shots, f"circle-new-errors-{label}")

    stranger = browser_context(url, viewport=viewport).new_page()
    stranger.goto(f"{url}/join/{circle.invite_code}")
    expect(stranger.get_by_role("link", name="Log in to join")).to_be_visible()
    snap(stranger, shots, f"join-signed-out-{label}")
    joining = signed_in(browser_context, live_daphne, UserFactory(), viewport=viewport).new_page()
    joining.goto(f"{url}/join/{circle.invite_code}")
    snap(joining, shots, f"join-{label}")
    joining.goto(f"{url}/join/no-such-invite-code")
    snap(joining, shots, f"join-unknown-{label}")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_templates_page_and_report_form_fit_the_screen(
    browser_context,
    live_daphne,
    shots,  # noqa: F811
    viewport,
):
    label = "phone" if viewport is PHONE else "desktop"
    url = live_daphne.url
    starter_templates()
    page = browser_context(url, viewport=viewport).new_page()
    page.goto(f"{url}/templates/")
    snap(page, shots, f"templates-{label}")
    poll = PollFactory(question="Is this poll fine?", options=["Yes", "No"])
    page.goto(f"{url}{poll.get_absolute_url()}")
    page.get_by_text("Report this poll").click()
    expect(page.get_by_label("Details")).to_be_visible()
    snap(page, shots, f"report-form-{label}")
    page.get_by_role("button", name="Send the report").click()
    snap(page, shots, f"report-form-refused-{label}")
