"""The parts of Django's request stack a vote goes through on the fast route, called directly.

The route builds Django's own request object from the ASGI scope and runs the checks of
the middleware that matter to a vote (settings.MIDDLEWARE) with Django's own classes, so
a vote meets the same CSRF rule (cookie and header or form field, Origin and Referer
over HTTPS), host check, voter cookie and response headers here as on the page path. What
it leaves out is what a vote by an anonymous browser never needs: sessions that hold
anything, messages, log-in throttling, analytics of page opens.
"""

from importlib import import_module
from io import BytesIO

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware
from django_htmx.middleware import HtmxDetails

from core.middleware import PermissionsPolicyMiddleware
from core.voters import VoterTokenMiddleware


def _no_view(request):
    return None


class _CsrfCheck(CsrfViewMiddleware):
    """Django's CSRF check, telling the route about a refusal instead of answering it: the
    route then hands the request to Django, which refuses it with Tally's own page."""

    def _reject(self, request, reason):
        request.fast_vote_csrf_refused = reason
        return None


class VoteStack:
    """Django's middleware for one vote, request phase and response phase."""

    def __init__(self):
        from csp.middleware import CSPMiddleware

        self.security = SecurityMiddleware(_no_view)
        self.csrf = _CsrfCheck(_no_view)
        self.voter_token = VoterTokenMiddleware(_no_view)
        self.csp = CSPMiddleware(_no_view)
        # Response phases, outermost first, as settings.MIDDLEWARE orders them.
        self.responders = [
            self.security,
            self.csp,
            SessionMiddleware(_no_view),
            CommonMiddleware(_no_view),
            self.csrf,
            MessageMiddleware(_no_view),
            XFrameOptionsMiddleware(_no_view),
        ]
        self.session_store = import_module(settings.SESSION_ENGINE).SessionStore

    def request(self, scope, body: bytes, view) -> ASGIRequest | None:
        """Django's request for this vote with the checks passed; None when Django itself
        must answer it (a signed-in browser, a refused CSRF token or host, an HTTPS
        redirect)."""
        request = ASGIRequest(scope, BytesIO(body))
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            return None  # a session: maybe a signed-in user, whom Django's auth reads
        try:
            request.get_host()
        except DisallowedHost:
            return None
        if self.security.process_request(request) is not None:
            return None
        self.csp.process_request(request)  # the nonce
        request.session = self.session_store(None)
        request.user = get_user(request)  # anonymous: there is no session to read
        request.htmx = HtmxDetails(request)
        self.csrf.process_request(request)
        self.csrf.process_view(request, view, (), {})
        if getattr(request, "fast_vote_csrf_refused", None) is not None:
            return None
        request.voter_token_is_new = self.voter_token._before(request)
        return request

    def response(self, request, response):
        """Put the response through the response phases of the same middleware."""
        response = self.voter_token._after(request, response, request.voter_token_is_new)
        for middleware in reversed(self.responders):
            response = middleware.process_response(request, response)
        return PermissionsPolicyMiddleware(lambda _request: response)(request)
