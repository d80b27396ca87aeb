"""Counting opens: after a poll page or an embed is served, queue an open by its source."""

import logging
import re

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from analytics import queue
from analytics.models import Open

logger = logging.getLogger(__name__)

# Crawlers, link unfurlers and monitors: an open is a person looking at the poll.
AUTOMATED_AGENT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|facebookexternalhit|facebookcatalog|embedly|"
    r"preview|whatsapp|skypeuripreview|vkshare|pinterest|bitlybot|python-|curl/|wget/|"
    r"go-http-client|okhttp|httpx|aiohttp|headlessshell|lighthouse|pingdom|uptime",
    re.IGNORECASE,
)
PREFETCH = re.compile(r"prefetch|prerender|preview", re.IGNORECASE)
VIEW_SOURCES = {"polls:detail": Open.Source.LINK_OPEN, "polls:embed": Open.Source.EMBED_LOAD}


def is_automated(request) -> bool:
    """A crawler, an unfurler or a browser fetching ahead of the user, not a person."""
    agent = request.headers.get("User-Agent", "")
    if not agent or AUTOMATED_AGENT.search(agent):
        return True
    purpose = " ".join(
        request.headers.get(name, "") for name in ("Purpose", "Sec-Purpose", "X-Purpose", "X-Moz")
    )
    return bool(PREFETCH.search(purpose))


def open_source(request, response) -> str | None:
    """The source this answer counts as an open of, or None when it is not an open."""
    match = request.resolver_match
    if request.method != "GET" or response.status_code != 200 or match is None:
        return None
    source = VIEW_SOURCES.get(match.view_name)
    if source is None or request.headers.get("HX-Request") or is_automated(request):
        return None
    # The poll page framed by another page is refused by the browser: nobody saw it.
    if source == Open.Source.LINK_OPEN and request.headers.get("Sec-Fetch-Dest") == "iframe":
        return None
    if source == Open.Source.LINK_OPEN and request.GET.get("src") == "qr":
        return Open.Source.QR_SCAN
    return source


class OpenTrackingMiddleware:
    """Queue each open of a poll page or an embed; never delays or breaks the answer."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def _after(self, request, response):
        try:
            source = open_source(request, response)
            if source is not None:
                queue.record_open(code=request.resolver_match.kwargs["code"], source=source)
        except Exception:
            logger.exception("Could not queue an open of %s", request.path)
        return response

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return self._after(request, self.get_response(request))

    async def __acall__(self, request):
        return self._after(request, await self.get_response(request))
