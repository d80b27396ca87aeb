"""Who is voting: the browser's voter token, the signed-in user and the client address.

Pages and sockets both build a Voter here, so one browser is the same voter on each, and
every per-voter limit counts it under the same key.
"""

import re
import secrets
from dataclasses import dataclass

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core import signing

from core.security import (
    address_group,
    client_ip,
    keyed_hash,
    keyed_hash_candidates,
    scope_client_ip,
)

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_signer = signing.Signer(salt="tally.voter-token")


def new_voter_token() -> str:
    return secrets.token_urlsafe(32)


def is_valid_voter_token(value: str | None) -> bool:
    return bool(value) and TOKEN_PATTERN.match(value) is not None


def sign_voter_token(token: str) -> str:
    """The cookie's value: the token and its signature (SECRET_KEY, or a fallback key)."""
    return _signer.sign(token)


def read_voter_cookie(value: str | None) -> tuple[str, bool]:
    """Return (token, signed) from a voter cookie, or ("", False) when it is not one.

    A cookie from before tokens were signed (a bare token) is still taken, and re-issued
    signed: refusing it would make every existing browser a new voter (its votes, and the
    polls it made signed out, would no longer be its own), and a bare token is worth no
    more than the fresh one any client gets by clearing its cookies. A signed cookie whose
    signature does not verify is refused: it was not issued by Tally.
    """
    if not value:
        return "", False
    if ":" in value:
        try:
            token = _signer.unsign(value)
        except signing.BadSignature:
            return "", False
        return (token, True) if is_valid_voter_token(token) else ("", False)
    return (value, False) if is_valid_voter_token(value) else ("", False)


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
    def keys(self) -> list[str]:
        """The key, then the keys under HASH_KEY_FALLBACKS: a ballot stored before the hash
        key was rotated is still this voter's."""
        if self.user_id is not None:
            return [self.key]
        return ["t:" + key for key in keyed_hash_candidates(self.token, purpose="voter")]

    @property
    def address(self) -> str:
        """What per-address rules count: the address, or its /64 for IPv6."""
        return address_group(self.ip)

    @property
    def ip_key(self) -> str:
        return keyed_hash(self.address, purpose="ip")

    @property
    def ip_keys(self) -> list[str]:
        return keyed_hash_candidates(self.address, purpose="ip")

    @property
    def rate_key(self) -> str:
        """What per-voter rate limits count: the voter, or its address when it has no token."""
        if self.user_id is None and not self.token:
            return f"ip:{self.address}"
        return self.key


def _user_id(user) -> int | None:
    return user.pk if user is not None and user.is_authenticated else None


def voter_from_request(request) -> Voter:
    return Voter(token=request.voter_token, ip=client_ip(request), user_id=_user_id(request.user))


def voter_from_scope(scope) -> Voter:
    """The voter behind a socket: its signed-in user and its browser's voter token."""
    token, _signed = read_voter_cookie(scope.get("cookies", {}).get(settings.VOTER_COOKIE_NAME))
    return Voter(token=token, ip=scope_client_ip(scope), user_id=_user_id(scope.get("user")))


class VoterTokenMiddleware:
    """Give every browser a long-lived, signed HttpOnly token that tells anonymous voters apart."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def _before(self, request) -> bool:
        """Read the browser's token; True when the cookie must be (re)issued."""
        token, signed = read_voter_cookie(request.COOKIES.get(settings.VOTER_COOKIE_NAME))
        request.voter_token = token or new_voter_token()
        return not signed

    def _after(self, request, response, is_new: bool):
        # A JSON API client identified by a header, or with no cookies, is not a browser.
        if is_new and not getattr(request, "voter_cookie_off", False):
            response.set_cookie(
                settings.VOTER_COOKIE_NAME,
                sign_voter_token(request.voter_token),
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
