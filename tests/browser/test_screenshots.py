"""The room's pages as a phone and a desktop show them: nothing runs off the side of the
screen. Screenshots go to $TALLY_SHOTS (a folder of the test's own when unset), to look at."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from polls import services
from polls.models import Poll
from tests.accounts.factories import UserFactory
from tests.browser.test_room import choose, log_in
from tests.polls.factories import PollFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
PROJECTOR = {"width": 1920, "height": 1080}
LIVE = 10_000  # ms

LONG_QUESTION = "Which of these is the best way to spend a long rainy Sunday afternoon?"


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("TALLY_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fits(page: Page) -> None:
    """Nothing is wider than the window: no sideways scrolling, no text cut at the edge."""
    overflow = page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const wide = [...document.querySelectorAll('body *')].filter(e => {
            const r = e.getBoundingClientRect();
            return r.width > 0 && (r.right > width + 1 || r.left < -1)
              && getComputedStyle(e).position !== 'fixed' && !e.closest('.sr-only');
          }).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className);
          return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
        }"""
    )
    assert overflow["scroll"] <= overflow["width"], overflow
    assert overflow["wide"] == [], overflow


def snap(page: Page, shots: Path, name: str) -> None:
    fits(page)
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_poll_pages_fit_the_screen(browser_context, live_daphne, shots, viewport, api_vote):
    label = "phone" if viewport is PHONE else "desktop"
    poll = PollFactory(
        question=LONG_QUESTION,
        options=["Reading a thick novel by the window", "Board games", "A long nap"],
        vote_changes=Poll.VoteChanges.ALLOWED,
    )
    api_vote(poll, "Board games")
    page = browser_context(live_daphne.url, viewport=viewport).new_page()
    page.goto(f"{live_daphne.url}{poll.get_absolute_url()}")
    expect(page.locator("body")).to_have_attribute("data-live", "on", timeout=LIVE)
    snap(page, shots, f"poll-open-{label}")

    choose(page, "A long nap", comment="Rain is for sleeping")
    expect(page.locator("#vote-panel")).to_contain_text("You voted for A long nap.", timeout=LIVE)
    snap(page, shots, f"poll-voted-{label}")

    page.get_by_text("Change my vote").click()
    page.get_by_label("Board games", exact=True).check()
    page.get_by_role("button", name="Save my new vote").click()
    expect(page.locator("#vote-panel")).to_contain_text("You voted for Board games.", timeout=LIVE)
    snap(page, shots, f"poll-changed-{label}")

    services.poll_close(poll=poll)
    page.reload()
    expect(page.locator("#poll-status")).to_contain_text("Closed")
    snap(page, shots, f"poll-closed-{label}")


@pytest.mark.parametrize("viewport", [PROJECTOR, PHONE], ids=["projector", "phone"])
def test_the_presenter_view_fits_the_screen(
    browser_context, live_daphne, shots, viewport, api_vote
):
    label = "projector" if viewport is PROJECTOR else "phone"
    poll = PollFactory(question=LONG_QUESTION, options=["Novel", "Board games", "Nap"])
    for option in ("Novel", "Nap", "Nap"):
        api_vote(poll, option)
    page = browser_context(live_daphne.url, viewport=viewport).new_page()
    page.goto(f"{live_daphne.url}/poll/{poll.code}/present")
    expect(page.locator("body")).to_have_attribute("data-live", "on", timeout=LIVE)
    page.wait_for_timeout(700)  # the bars' transition settles before the picture
    snap(page, shots, f"present-{label}")
    if viewport is PROJECTOR:
        # The question, the join link and the QR all fit the projector without scrolling.
        for selector in ("#poll-question", ".present-join-url", "img[data-qr]", "#tally"):
            box = page.locator(selector).bounding_box()
            assert box["y"] + box["height"] <= viewport["height"], (selector, box)
        # Readable from the back of the room: nothing on the projector in small print.
        for selector, smallest in (
            (".present-join-url", 32),
            ("#tally li > div", 24),
            ("#viewers", 18),
        ):
            size = page.locator(selector).first.evaluate(
                "e => parseFloat(getComputedStyle(e).fontSize)"
            )
            assert size >= smallest, (selector, size)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_stale_token_page_fits_the_screen(browser_context, live_daphne, shots, viewport):
    label = "phone" if viewport is PHONE else "desktop"
    poll = PollFactory(options=["Red", "Green"])
    context = browser_context(live_daphne.url, viewport=viewport, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_daphne.url}{poll.get_absolute_url()}")
    log_in(context.new_page(), live_daphne.url, UserFactory())
    choose(page, "Green", comment="Green like grass")
    expect(page.locator("#notice")).to_contain_text("Your vote was not sent yet")
    snap(page, shots, f"stale-token-{label}")
