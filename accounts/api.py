"""Who is calling the JSON API: a personal token, a voter token, or the browser's session.

Each scheme below leaves the request as the pages see one (request.user and
request.voter_token), so the API's routers answer through the same selectors and services
as the pages. A request that identifies itself by a header (Authorization or
X-Voter-Token) is judged by that header alone: its cookies are ignored and it needs no
CSRF token, because a browser cannot send such a header cross-site on its own. A request
with the browser's cookies is a session request and, when it changes anything, needs the
CSRF token as the pages do. A request with neither is an anonymous program.
"""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from ninja.security import APIKeyCookie, APIKeyHeader, HttpBearer
from ninja.utils import check_csrf

from accounts import services
from core.http import Refused
from core.voters import is_valid_voter_token

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
TOKEN_HELP = "Create a token at /accounts/tokens/ and send it as “Authorization: Bearer <token>”."  # noqa: S105


def _identify(request, *, user, voter_token: str, by_header: bool) -> None:
    request.user = user
    request.voter_token = voter_token
    # The voter-token cookie belongs to browsers: header clients and cookieless programs
    # are not handed one (core.voters.VoterTokenMiddleware reads this).
    request.voter_cookie_off = by_header or not voter_token


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`: a personal API token made at /accounts/tokens/."""

    def __call__(self, request):
        value = request.headers.get("Authorization")
        if value is None:
            return None
        scheme, _, secret = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Refused(401, "invalid_token", f"Unknown authorization scheme. {TOKEN_HELP}")
        return self.authenticate(request, secret.strip())

    def authenticate(self, request, token):
        api_token = services.api_token_authenticate(secret=token)
        if api_token is None:
            raise Refused(
                401,
                "invalid_token",
                f"This API token is unknown, revoked or expired. {TOKEN_HELP}",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        _identify(request, user=api_token.user, voter_token="", by_header=True)
        request.api_token = api_token
        return "token"


class VoterToken(APIKeyHeader):
    """`X-Voter-Token`: an anonymous voter, as a browser's voter cookie tells one apart."""

    param_name = "X-Voter-Token"

    def __call__(self, request):
        value = request.headers.get(self.param_name)
        if value is None:
            return None
        return self.authenticate(request, value.strip())

    def authenticate(self, request, key):
        if not is_valid_voter_token(key):
            raise Refused(
                401,
                "invalid_voter_token",
                "X-Voter-Token must be a token from POST /api/v1/voter-token.",
            )
        _identify(request, user=AnonymousUser(), voter_token=key, by_header=True)
        return "voter"


class BrowserSession(APIKeyCookie):
    """The browser's session cookie (with X-CSRFToken on changes), or no credentials at all."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self):
        super().__init__(csrf=True)

    def __call__(self, request):
        browser = any(
            name in request.COOKIES
            for name in (settings.SESSION_COOKIE_NAME, settings.VOTER_COOKIE_NAME)
        )
        if not browser:
            _identify(request, user=AnonymousUser(), voter_token="", by_header=False)
            return "anonymous"
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise Refused(
                403,
                "csrf_failed",
                "Send the csrftoken cookie's value in the X-CSRFToken header,"
                " or authenticate with a token header instead of cookies.",
            )
        return "session"

    def authenticate(self, request, key):  # pragma: no cover - __call__ decides
        return None


def api_auth() -> list:
    """The schemes in the order they are tried: the first header present decides."""
    return [BearerToken(), VoterToken(), BrowserSession()]
