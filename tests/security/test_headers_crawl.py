"""A crawl of every URL pattern: security headers and a strict CSP on every HTML answer,
framing allowed only on the embed, and CSRF on every cookie-authenticated POST."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db

# A script element that runs: no src, and not a JSON data block.
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=[\"']application/(?:ld\+)?json)[^>]*>", re.IGNORECASE
)
EVENT_ATTRIBUTE = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"""(href|action|src)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)
HTMX_EVAL = re.compile(r"""hx-(vals|vars|headers)\s*=\s*['"]\s*js:|hx-on[:-]""", re.IGNORECASE)


def patterns(resolver=None, prefix=""):
    """Every URL pattern as (route with placeholders, name)."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.name or ""


def fill(route: str, values: dict) -> str | None:
    """Turn a route into a URL with real values; None where it cannot be filled."""
    route = route.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\/", "/")
    if "(?P" in route or "(" in route:
        return None

    def value(match):
        return str(values.get(match.group(2), values.get("default")))

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


@pytest.fixture
def crawl(user):
    poll = PollFactory(owner=user) if "owner" in PollFactory._meta.declarations else PollFactory()
    values = {"code": poll.code, "default": "1", "pk": "1", "id": "1", "slug": "x"}
    urls = {}
    for route, name in patterns():
        url = fill(route, values)
        if (url is not None and "admin/" not in url[:7]) or url == "/admin/":
            urls[url] = name
    return urls


def browser(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/")
    return client


def check_html_headers(url, name, response, problems):
    csp = response.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    script = directives.get("script-src", directives.get("default-src"))
    if not script or "'unsafe-inline'" in script or "'unsafe-eval'" in script:
        problems.append(f"{url}: script-src is {script!r}")
    framable = directives.get("frame-ancestors") != ["'none'"] or (
        response.get("X-Frame-Options") != "DENY"
    )
    if framable and "embed" not in name:
        problems.append(f"{url}: may be framed ({directives.get('frame-ancestors')})")
    for header in ("X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy"):
        if not response.get(header):
            problems.append(f"{url}: no {header}")
    body = response.content.decode(errors="replace")
    for pattern, what in (
        (INLINE_SCRIPT, "inline script"),
        (EVENT_ATTRIBUTE, "event-handler attribute"),
        (JS_URL, "javascript: URL"),
        (HTMX_EVAL, "htmx eval attribute"),
    ):
        if pattern.search(body):
            problems.append(f"{url}: {what}: {pattern.search(body).group(0)[:80]}")


def test_every_html_page_has_the_csp_and_security_headers(crawl, user, capsys):
    """Every HTML answer of every route carries a CSP without inline script or eval, denies
    framing (the embed excepted), and names nosniff, a referrer and a permissions policy."""
    client = browser(user)
    problems, html_pages = [], 0
    for url, name in sorted(crawl.items()):
        response = client.get(url)
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        html_pages += 1
        check_html_headers(url, name, response, problems)
    with capsys.disabled():
        print(f"\n[crawl] {len(crawl)} routes, {html_pages} HTML answers, {len(problems)} problems")
    assert html_pages > 15
    assert problems == [], "\n".join(problems)


def test_only_the_embed_may_be_framed(crawl, user):
    """The embed route, where it exists, relaxes frame-ancestors; nothing else does."""
    client = browser(user)
    framable = []
    for url, name in crawl.items():
        response = client.get(url)
        if "frame-ancestors 'none'" not in response.get("Content-Security-Policy", "'none'"):
            framable.append(name)
    assert all("embed" in name for name in framable), framable


def test_every_cookie_authenticated_post_without_csrf_is_refused(crawl, user):
    """A signed-in browser's POST to any route, without the CSRF token, answers 403."""
    client = browser(user)
    accepted = []
    for url in sorted(crawl):
        response = client.post(url, {"option": "1", "question": "x"})
        if response.status_code not in (403, 405):
            accepted.append((url, response.status_code))
    assert accepted == []
