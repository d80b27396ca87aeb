"""Who is voting: the browser's voter token, the signed-in user and the client address.

Pages and sockets both build a Voter here, so one browser is the same voter on each, and
every per-voter limit counts it under the same key.
"""

import re
import secrets
from dataclasses import dataclass

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings

from core.security import client_ip, keyed_hash

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def new_voter_token() -> str:
    return secrets.token_urlsafe(32)


def is_valid_voter_token(value: str | None) -> bool:
    return bool(value) and TOKEN_PATTERN.match(value) is not None


@dataclass(frozen=True)
class Voter:
    """A browser token, maybe a signed-in user, and the client address."""

    token: str
    ip: str
    user_id: int | None = None

    @property
    def key(self) -> str:
        """What a ballot stores: the account, else a keyed hash of the browser token."""
        if self.user_id is not None:
            return f"u:{self.user_id}"
        return "t:" + keyed_hash(self.token, purpose="voter")

    @property
    def ip_key(self) -> str:
        return keyed_hash(self.ip, purpose="ip")

    @property
    def rate_key(self) -> str:
        """What per-voter rate limits count: the voter, or its address when it has no token."""
        if self.user_id is None and not self.token:
            return f"ip:{self.ip}"
        return self.key


def _user_id(user) -> int | None:
    return user.pk if user is not None and user.is_authenticated else None


def voter_from_request(request) -> Voter:
    return Voter(token=request.voter_token, ip=client_ip(request), user_id=_user_id(request.user))


def voter_from_scope(scope) -> Voter:
    """The voter behind a socket: its signed-in user and its browser's voter token."""
    token = scope.get("cookies", {}).get(settings.VOTER_COOKIE_NAME, "")
    client = scope.get("client") or ("unknown", 0)
    return Voter(
        token=token if is_valid_voter_token(token) else "",
        ip=client[0],
        user_id=_user_id(scope.get("user")),
    )


class VoterTokenMiddleware:
    """Give every browser a long-lived HttpOnly token that tells anonymous voters apart."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def _before(self, request) -> bool:
        token = request.COOKIES.get(settings.VOTER_COOKIE_NAME)
        is_new = not is_valid_voter_token(token)
        request.voter_token = new_voter_token() if is_new else token
        return is_new

    def _after(self, request, response, is_new: bool):
        if is_new:
            response.set_cookie(
                settings.VOTER_COOKIE_NAME,
                request.voter_token,
                max_age=settings.VOTER_COOKIE_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        is_new = self._before(request)
        return self._after(request, self.get_response(request), is_new)

    async def __acall__(self, request):
        is_new = self._before(request)
        return self._after(request, await self.get_response(request), is_new)
