"""Spreading a poll: the share page, its QR codes and the result card of link previews."""

import hashlib
import html

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_GET, require_safe

from polls.qr import qr_code_png, qr_code_svg
from polls.sharing import card
from polls.sharing.links import absolute, poll_link
from polls.sharing.opengraph import opengraph
from polls.views.pages import is_owner
from polls.visibility import poll_or_404

QR_MAX_AGE = 86400
EMBED_HEIGHT = 560


def embed_snippet(embed_url: str, question: str) -> str:
    """The iframe a site pastes in. Plain text: the template escapes it once more for the
    textarea, so what is copied is this, with the question escaped for its attribute."""
    title = html.escape(f"Tally poll: {question}", quote=True)
    return (
        f'<iframe src="{embed_url}" title="{title}" width="100%" height="{EMBED_HEIGHT}" '
        'style="border:0;max-width:560px" loading="lazy"></iframe>'
    )


def embed_route_exists(code: str) -> bool:
    try:
        reverse("polls:embed", kwargs={"code": code})
    except NoReverseMatch:
        return False
    return True


@require_GET
def share(request, code):
    poll = poll_or_404(request, code)
    embed_url = absolute(request, f"/poll/{poll.code}/embed")
    return render(
        request,
        "polls/share.html",
        {
            "poll": poll,
            "poll_url": poll_link(request, poll),
            "embed_snippet": embed_snippet(embed_url, poll.question),
            "embed_preview": f"/poll/{poll.code}/embed" if embed_route_exists(poll.code) else "",
            "is_owner": is_owner(request, poll),
            "closed": poll.is_closed(),
            "og": opengraph(request, poll),
        },
    )


def cached_image(request, body: bytes, *, content_type: str, fingerprint: str, max_age: int):
    """An image answer with its ETag; 304 when the client already holds this version.

    Public, so shared caches keep it: it must then carry no cookie, or a CDN would hand one
    browser's voter token to everyone who fetches the image."""
    request.voter_cookie_off = True
    etag = f'"{fingerprint}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=max_age)
    return response


def qr_answer(request, code: str, *, render_code, content_type: str):
    poll = poll_or_404(request, code)
    link = poll_link(request, poll, source="qr")
    body = render_code(link)
    fingerprint = hashlib.sha256(f"{content_type}:{link}".encode()).hexdigest()[:32]
    return cached_image(
        request, body, content_type=content_type, fingerprint=fingerprint, max_age=QR_MAX_AGE
    )


@require_safe
def qr_svg(request, code):
    return qr_answer(request, code, render_code=qr_code_svg, content_type="image/svg+xml")


@require_safe
def qr_png(request, code):
    response = qr_answer(request, code, render_code=qr_code_png, content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="tally-{code}-qr.png"'
    return response


@require_safe
def card_png(request, code):
    """The result card of link previews (og:image), the same for every viewer."""
    poll = poll_or_404(request, code)
    body, fingerprint = card.card_png(poll)
    return cached_image(
        request,
        body,
        content_type="image/png",
        fingerprint=fingerprint,
        max_age=card.REFRESH_SECONDS,
    )
