"""The embeddable card: a poll's vote form and live results, the one page others may frame.

In a frame on another site the browser sends and keeps only cookies marked for it: over
TLS the card issues the voter and CSRF cookies as `SameSite=None; Secure; Partitioned`
(kept per embedding site), so votes from the frame dedupe and pass CSRF. Where it cannot
(plain HTTP, or the browser keeps no cookie for the frame), the card shows the results and
a "Vote on Tally" link instead of a form that would count every visit as a new voter.
"""

from http.cookies import Morsel

from csp.decorators import csp_replace
from django.conf import settings
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from core.voters import read_voter_cookie, sign_voter_token
from polls.views.pages import poll_context
from polls.visibility import poll_or_404


class PartitionedMorsel(Morsel):
    """A cookie with the `Partitioned` attribute (CHIPS), which http.cookies does not know
    before Python 3.14."""

    def OutputString(self, attrs=None):
        return super().OutputString(attrs) + "; Partitioned"


def set_frame_cookie(response, name: str, value: str, *, max_age: int, httponly: bool) -> None:
    """Set a cookie a cross-site frame keeps: SameSite=None, Secure, Partitioned."""
    morsel = PartitionedMorsel()
    morsel.set(name, value, value)
    morsel["max-age"] = max_age
    morsel["path"] = "/"
    morsel["secure"] = True
    morsel["httponly"] = httponly
    morsel["samesite"] = "None"
    response.cookies[name] = morsel


def is_cross_site_frame(request) -> bool:
    """Framed by a page of another site (as the browser's fetch metadata tells)."""
    return request.headers.get("Sec-Fetch-Site") == "cross-site"


@require_GET
@xframe_options_exempt
def embed(request, code):
    """The compact card, framable by EMBED_ALLOWED_ORIGINS (read per request)."""
    allowed = csp_replace({"frame-ancestors": settings.EMBED_ALLOWED_ORIGINS})
    return allowed(embed_card)(request, code)


def embed_card(request, code):
    poll = poll_or_404(request, code)
    cross_site = is_cross_site_frame(request)
    # Plain HTTP cannot carry a cookie into a cross-site frame: no form, a link instead.
    cookies = "off" if cross_site and not request.is_secure() else "on"
    context = poll_context(request, poll)
    context.update(
        {
            "cookies": cookies,
            "poll_url": request.build_absolute_uri(poll.get_absolute_url()),
            "embed": True,
        }
    )
    response = render(request, "polls/embed.html", context)
    if cross_site and cookies == "on":
        issue_frame_cookies(request, response)
    return response


def issue_frame_cookies(request, response) -> None:
    """Give the frame its voter token and CSRF cookie as cookies a cross-site frame keeps."""
    _token, signed = read_voter_cookie(request.COOKIES.get(settings.VOTER_COOKIE_NAME))
    request.voter_cookie_off = True  # not the middleware's Lax cookie
    if not signed:
        set_frame_cookie(
            response,
            settings.VOTER_COOKIE_NAME,
            sign_voter_token(request.voter_token),
            max_age=settings.VOTER_COOKIE_MAX_AGE,
            httponly=True,
        )
    if "CSRF_COOKIE" in request.META:
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = False  # not the middleware's Lax cookie
        set_frame_cookie(
            response,
            settings.CSRF_COOKIE_NAME,
            request.META["CSRF_COOKIE"],
            max_age=settings.CSRF_COOKIE_AGE,
            httponly=False,
        )
