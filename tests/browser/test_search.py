"""Search in a real browser: results by meaning appear as the user types."""

import pytest
from playwright.sync_api import expect

from chat import services, tasks
from tests.polls.factories import PollFactory
from tests.server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# ms: the server loads the language model on its first search (seconds on a busy machine);
# until then it shows word matches and refreshes them by itself.
FOUND = 90_000


def test_typing_a_synonym_shows_the_poll_live(live_daphne: LiveServer, browser_context):
    """Typing "cars" finds the poll about automobiles without pressing Search."""
    wanted = PollFactory(question="Should cities ban automobiles from the centre?")
    other = PollFactory(question="Which pizza topping is best?", options=["Ham", "Corn"])
    tasks.wait_for_background()
    for poll in (wanted, other):
        services.poll_snippets_sync(poll_id=poll.pk)

    page = browser_context(live_daphne.url).new_page()
    page.goto(f"{live_daphne.url}/search")
    page.get_by_label("Search public polls").press_sequentially("cars", delay=50)

    results = page.locator("#search-results")
    expect(results.get_by_role("link", name=wanted.question)).to_be_visible(timeout=FOUND)
    expect(results).not_to_contain_text(other.question)
    expect(page).to_have_url(f"{live_daphne.url}/search?q=cars")
