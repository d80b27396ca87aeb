"""The embed in a real browser, framed by a page of another site and of the same site."""

import datetime
import http.server
import ipaddress
import re
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from playwright.sync_api import BrowserContext, Page, expect

from polls.models import Ballot, Poll
from tests.accounts.factories import UserFactory
from tests.browser.conftest import cast_api_vote
from tests.helpers import session_id
from tests.polls.factories import PollFactory
from tests.server import (
    BASE_DIR,
    DAPHNE,
    START_TIMEOUT,
    LiveServer,
    daphne_env,
    free_port,
    stop_daphne,
)

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


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (the browser is told to accept it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def trust(server: LiveServer) -> ssl.SSLContext:
    """Trust the TLS server's own certificate (written beside its log)."""
    return ssl.create_default_context(cafile=server.log_path.parent / "cert.pem")


@pytest.fixture
def tls_daphne(django_db_setup, tmp_path) -> Iterator[LiveServer]:
    """Tally served over TLS by daphne, on the test database."""
    key_path, cert_path = self_signed_certificate(tmp_path)
    port = free_port()
    log_path = tmp_path / "daphne-tls.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                str(DAPHNE),
                "-e",
                f"ssl:port={port}:interface=127.0.0.1:privateKey={key_path}:certKey={cert_path}",
                "config.asgi:application",
            ],
            cwd=BASE_DIR,
            env=daphne_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(url=f"https://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, server.log_tail()
            try:
                if (
                    httpx.get(f"{server.url}/health", verify=trust(server), timeout=2).status_code
                    == 200
                ):
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.2)
        yield server
    finally:
        stop_daphne(process)


def test_embed_on_another_site_over_tls_votes_once_with_partitioned_cookies(
    browser_context, tls_daphne: LiveServer, host_server
):
    """Over TLS the cross-site frame keeps its partitioned cookies: it votes, shows the
    live tally, and a second vote from the frame is refused."""
    poll = PollFactory(question="Tabs or spaces?", options=["Tabs", "Spaces"])
    context = browser_context(tls_daphne.url, ignore_https_errors=True)
    page = host_page(context, host_server, "localhost", tls_daphne, poll)
    frame = embed_frame(page)
    expect(frame.locator("#poll-question")).to_have_text("Tabs or spaces?")
    expect(frame.locator("#embed-no-cookies")).to_be_hidden()
    expect(frame.locator("body")).to_have_attribute("data-live", "on", timeout=LIVE)
    frame.get_by_label("Spaces", exact=True).check()
    frame.get_by_role("button", name="Vote").click()
    expect(frame.locator("#notice")).to_contain_text("Your vote is in.", timeout=LIVE)
    expect(frame.locator("#ballot")).to_contain_text("You voted for Spaces")

    tabs = poll.options.get(text="Tabs").pk
    assert api_vote_tls(tls_daphne, poll.code, tabs).status_code == 201
    expect(frame.locator("#tally")).to_contain_text(votes(2), timeout=LIVE)

    cookies = {cookie["name"]: cookie for cookie in context.cookies(tls_daphne.url)}
    assert cookies["tally_voter"]["sameSite"] == "None"
    assert cookies["tally_voter"]["secure"] is True
    assert cookies["tally_voter"].get("partitionKey")

    page.reload()
    expect(embed_frame(page).locator("#ballot")).to_contain_text("You voted for Spaces")
    expect(embed_frame(page).get_by_role("button", name="Vote")).to_have_count(0)
    assert Ballot.objects.filter(poll=poll).count() == 2
    assert_poll_page_refused(page, poll)


def api_vote_tls(server: LiveServer, code: str, option_id: int) -> httpx.Response:
    """Vote as a fresh JSON client of the TLS server."""
    with httpx.Client(base_url=server.url, verify=trust(server), timeout=30) as client:
        client.get("/")
        return client.post(
            f"/poll/{code}/vote",
            json={"option": [str(option_id)]},
            headers={
                "Accept": "application/json",
                "X-CSRFToken": client.cookies["csrftoken"],
                "Referer": f"{server.url}/",
            },
        )
