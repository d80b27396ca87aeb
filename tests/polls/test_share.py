"""Spreading a poll: the share page, its QR codes (SVG and PNG) and link-preview tags."""

import io
import re
from html import unescape

import pytest
import zxingcpp
from django.test import Client
from PIL import Image

from polls.models import Poll
from polls.qr import qr_code_svg
from tests.helpers import post_json, text
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db


def meta_tags(page: str) -> dict[str, str]:
    """The page's <meta property|name=... content=...> tags, by property or name."""
    tags = {}
    for tag in re.findall(r"<meta\s[^>]*>", page):
        key = re.search(r'(?:property|name)="([^"]+)"', tag)
        content = re.search(r'content="([^"]*)"', tag)
        if key and content:
            tags[key.group(1)] = unescape(content.group(1))
    return tags


def vote(poll, option_text: str) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.get("/")
    browser.csrf_token = browser.cookies["csrftoken"].value
    option = poll.options.get(text=option_text)
    assert post_json(browser, f"/poll/{poll.code}/vote", {"option": option.id}).status_code == 201


def decode_qr(png: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


# The share page


def test_share_page_offers_link_share_sheet_qr_downloads_embed_and_present(client, poll):
    """Everything a poll's creator needs to spread it, on one page."""
    response = client.get(f"/poll/{poll.code}/share")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = text(response)
    link = f"http://testserver/poll/{poll.code}"
    assert re.search(r'<button[^>]*data-copy="#share-link"[^>]*hidden', page)
    # The native share sheet: shown by the script only where navigator.share exists.
    assert re.search(rf'<button[^>]*data-share-url="{re.escape(link)}"[^>]*hidden', page)
    assert f'href="/poll/{poll.code}/qr.png" download' in page
    assert f'href="/poll/{poll.code}/qr.svg" download' in page
    assert f'href="/poll/{poll.code}/present"' in page
    snippet = unescape(re.search(r'<textarea id="embed-code"[^>]*>(.*?)</textarea>', page, re.S)[1])
    assert snippet.startswith(f'<iframe src="{link}/embed"')
    assert re.search(r'<button[^>]*data-copy="#embed-code"', page)


def test_share_page_runs_no_inline_script(client, poll):
    """Under the CSP only Tally's static files run: the copy and share code is one of them."""
    page = text(client.get(f"/poll/{poll.code}/share"))
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
    assert scripts
    assert all("src=" in attributes and not body.strip() for attributes, body in scripts)
    assert any("js/share" in attributes for attributes, _ in scripts)


def test_embed_snippet_escapes_the_question_for_its_attribute(client):
    """A question with quotes and markup cannot break out of the iframe's title attribute,
    nor out of the textarea that shows the snippet."""
    poll = PollFactory(question='Say "hi" </textarea><script>alert(1)</script>?')
    page = text(client.get(f"/poll/{poll.code}/share"))
    assert "</textarea><script>" not in page
    snippet = unescape(re.search(r'<textarea id="embed-code"[^>]*>(.*?)</textarea>', page, re.S)[1])
    title = re.search(r'title="([^"]*)"', snippet)[1]
    assert unescape(title) == f"Tally poll: {poll.question}"


# QR codes


def test_qr_png_is_an_image_that_decodes_to_the_poll_link_marked_qr(client, poll):
    """A poster's QR code opens the poll, and the open is counted as a scan (?src=qr)."""
    response = client.get(f"/poll/{poll.code}/qr.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    assert image.width == image.height >= 500
    assert decode_qr(response.content) == [f"http://testserver/poll/{poll.code}?src=qr"]


def test_qr_svg_encodes_the_same_link(client, poll):
    """The SVG (share page, presenter view) is the same code as the PNG, drawn as vectors."""
    response = client.get(f"/poll/{poll.code}/qr.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content == qr_code_svg(f"http://testserver/poll/{poll.code}?src=qr")


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_qr_codes_are_cached_and_answer_304_to_their_etag(client, poll, kind):
    first = client.get(f"/poll/{poll.code}/qr.{kind}")
    assert "max-age=86400" in first["Cache-Control"]
    assert "public" in first["Cache-Control"]
    assert first["ETag"].startswith('"')
    assert not first.cookies, "a publicly cached answer carries no cookie"
    assert not first.cookies, "a publicly cached answer carries no cookie"
    again = client.get(f"/poll/{poll.code}/qr.{kind}", headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    assert again.content == b""


def test_links_use_site_url_when_it_is_set(client, poll, settings):
    """Behind a proxy the public address is SITE_URL's, whatever host the request names."""
    settings.SITE_URL = "https://polls.example.org"
    png = client.get(f"/poll/{poll.code}/qr.png").content
    assert decode_qr(png) == [f"https://polls.example.org/poll/{poll.code}?src=qr"]
    tags = meta_tags(text(client.get(f"/poll/{poll.code}")))
    assert tags["og:url"] == f"https://polls.example.org/poll/{poll.code}"
    assert tags["og:image"] == f"https://polls.example.org/poll/{poll.code}/card.png"
    share = text(client.get(f"/poll/{poll.code}/share"))
    assert f'value="https://polls.example.org/poll/{poll.code}"' in share


# OpenGraph and Twitter tags


@pytest.mark.parametrize("page", ["", "/share", "/present"])
def test_public_poll_pages_carry_opengraph_and_twitter_tags(client, poll, page):
    """A link pasted into a chat or a post unfurls with the question and the result card."""
    tags = meta_tags(text(client.get(f"/poll/{poll.code}{page}")))
    assert tags["og:title"] == poll.question
    assert tags["og:url"] == f"http://testserver/poll/{poll.code}"
    assert tags["og:image"] == f"http://testserver/poll/{poll.code}/card.png"
    assert tags["og:image:width"] == "1200"
    assert tags["og:image:height"] == "630"
    assert tags["twitter:card"] == "summary_large_image"
    assert tags["twitter:image"] == tags["og:image"]
    assert "Red · Green · Blue" in tags["og:description"]


def test_opengraph_description_names_the_leader_where_results_are_public(client, poll):
    vote(poll, "Green")
    vote(poll, "Green")
    vote(poll, "Red")
    tags = meta_tags(text(client.get(f"/poll/{poll.code}")))
    assert tags["og:description"].startswith("Leading: Green with 66.7% of 3 votes.")
    assert tags["twitter:description"] == tags["og:description"]


def test_opengraph_description_of_hidden_results_has_options_only(client):
    """Even the owner's own page, where the numbers show, unfurls without them."""
    poll = PollFactory(results_visibility=Poll.ResultsVisibility.AFTER_CLOSE)
    vote(poll, "Blue")
    tags = meta_tags(text(client.get(f"/poll/{poll.code}")))
    assert tags["og:description"] == "Options: Red · Green · Blue. Vote on Tally."
    assert not re.search(r"\d", tags["og:description"])


def test_opengraph_tags_escape_the_question(client):
    poll = PollFactory(question='Best "quote" <b>mark</b>?')
    page = text(client.get(f"/poll/{poll.code}"))
    assert "<b>mark</b>" not in page.split("</head>")[0]
    assert meta_tags(page)["og:title"] == poll.question


# Unknown polls


@pytest.mark.parametrize("route", ["share", "qr.png", "qr.svg", "card.png"])
def test_unknown_poll_answers_404(client, route):
    assert client.get(f"/poll/nosuchpoll/{route}").status_code == 404
