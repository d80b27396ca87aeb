"""The embed in a real browser, framed by a page of another site and of the same site."""

import http.server
import re
import threading

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from polls.models import Ballot, Poll
from tests.accounts.factories import UserFactory
from tests.browser.conftest import cast_api_vote
from tests.helpers import session_id
from tests.polls.factories import PollFactory
from tests.server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE = 10_000  # ms


def votes(count: int) -> re.Pattern:
    noun = "vote" if count == 1 else "votes"
    return re.compile(rf"(?<!\d){count} {noun}\b")


@pytest.fixture
def host_server():
    """A plain web server on loopback standing for another site's page (a real server, so
    the browser sees it on the local network as Tally; a page it made up would count as
    public, and Chromium blocks a public page from framing a local address)."""
    pages: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path.split("?", 1)[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"not found")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.pages = pages
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def host_page(context: BrowserContext, host, hostname: str, server: LiveServer, poll) -> Page:
    """Open a blog post on hostname (localhost: another site than 127.0.0.1) that frames
    the embed and, below it, the poll page itself."""
    html = f"""<!doctype html><html><head><title>A blog</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; background: #eef2ff; margin: 0; padding: 16px">
<h1>A blog post about indentation</h1>
<p>What do our readers think?</p>
<iframe id="embed" name="embed" src="{server.url}/poll/{poll.code}/embed" title="Poll"
  style="width: 100%; max-width: 560px; height: 600px; border: 0"></iframe>
<iframe id="poll" name="poll" src="{server.url}/poll/{poll.code}" title="Poll page"
  style="width: 100%; height: 120px; border: 1px dashed #999"></iframe>
</body></html>"""
    host.pages["/post"] = html.encode()
    page = context.new_page()
    page.goto(f"http://{hostname}:{host.server_address[1]}/post")
    return page


def embed_frame(page: Page):
    return page.frame_locator("#embed")


def assert_poll_page_refused(page: Page, poll: Poll) -> None:
    """Every page but the embed denies framing: the browser shows no poll in the frame."""
    page.wait_for_load_state("load")
    frame = page.frame(name="poll")
    assert frame is not None
    assert (
        not frame.url.endswith(poll.get_absolute_url())
        or frame.locator("#poll-question").count() == 0
    )
    expect(page.frame_locator("#poll").locator("#poll-question")).to_have_count(0)


def test_embed_on_another_site_over_http_offers_a_top_level_link(
    browser_context, live_daphne: LiveServer, host_server
):
    """Host page on localhost, embed on 127.0.0.1 (another site): over plain HTTP the frame
    keeps no cookie, so the card shows the live results and a "Vote on Tally" link, and the
    poll page itself refuses to load in a frame."""
    poll = PollFactory(question="Tabs or spaces?", options=["Tabs", "Spaces"])
    context = browser_context(live_daphne.url)
    page = host_page(context, host_server, "localhost", live_daphne, poll)
    frame = embed_frame(page)
    expect(frame.locator("#poll-question")).to_have_text("Tabs or spaces?")
    notice = frame.locator("#embed-no-cookies")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Your browser keeps no cookies for this embedded poll")
    link = notice.get_by_role("link", name="Vote on Tally")
    expect(link).to_have_attribute("href", f"{live_daphne.url}/poll/{poll.code}")
    expect(link).to_have_attribute("target", "_blank")
    expect(frame.get_by_role("button", name="Vote")).to_have_count(0)
    expect(frame.get_by_role("link", name="Powered by Tally")).to_be_visible()

    cast_api_vote(live_daphne, poll, "Spaces")
    expect(frame.locator("#tally")).to_contain_text(votes(1), timeout=LIVE)
    expect(frame.locator("#tally")).to_contain_text("Spaces")
    assert_poll_page_refused(page, poll)


def test_embed_on_the_same_site_votes_once_and_follows_the_tally(
    browser_context, live_daphne: LiveServer, host_server
):
    """Framed by a page of the same site (another port), the card votes, shows the live
    tally, and a second vote from the frame is refused."""
    poll = PollFactory(question="Tabs or spaces?", options=["Tabs", "Spaces"])
    context = browser_context(live_daphne.url)
    page = host_page(context, host_server, "127.0.0.1", live_daphne, poll)
    frame = embed_frame(page)
    expect(frame.locator("#embed-no-cookies")).to_be_hidden()
    expect(frame.locator("body")).to_have_attribute("data-live", "on", timeout=LIVE)
    frame.get_by_label("Tabs", exact=True).check()
    frame.get_by_role("button", name="Vote").click()
    expect(frame.locator("#notice")).to_contain_text("Your vote is in.", timeout=LIVE)
    expect(frame.locator("#ballot")).to_contain_text("You voted for Tabs")
    expect(frame.locator("#tally")).to_contain_text(votes(1))

    cast_api_vote(live_daphne, poll, "Spaces")
    expect(frame.locator("#tally")).to_contain_text(votes(2), timeout=LIVE)

    inner = page.frame(name="embed")
    option = poll.options.get(text="Spaces").pk
    status = inner.evaluate(
        """async (option) => {
            const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
            const answer = await fetch(location.pathname.replace(/embed$/, "vote"), {
                method: "POST",
                headers: {"Content-Type": "application/json", "Accept": "application/json",
                          "X-CSRFToken": token},
                body: JSON.stringify({option: String(option)}),
            });
            return answer.status;
        }""",
        option,
    )
    assert status == 409
    assert Ballot.objects.filter(poll=poll).count() == 2
    page.reload()
    expect(embed_frame(page).locator("#ballot")).to_contain_text("You voted for Tabs")
    expect(embed_frame(page).get_by_role("button", name="Vote")).to_have_count(0)
    assert_poll_page_refused(page, poll)


def test_analytics_page_follows_votes_live(browser_context, live_daphne: LiveServer):
    """The owner's analytics page: a vote cast elsewhere shows in its counts and its chart
    without a reload."""
    user = UserFactory()
    poll = PollFactory(owner=user, question="Tabs or spaces?", options=["Tabs", "Spaces"])
    context = browser_context(live_daphne.url)
    context.add_cookies([{"name": "sessionid", "value": session_id(user), "url": live_daphne.url}])
    page = context.new_page()
    page.goto(f"{live_daphne.url}/poll/{poll.code}/analytics")
    expect(page.locator("[data-chart-empty]")).to_be_visible()
    page.evaluate("window.analyticsNoReload = true")
    cast_api_vote(live_daphne, poll, "Tabs")
    expect(page.locator("[data-stat=votes]")).to_have_text("1", timeout=LIVE)
    expect(page.locator("[data-chart] rect[data-votes='1']")).to_have_count(1)
    assert page.evaluate("window.analyticsNoReload === true")
