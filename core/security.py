"""Keyed hashes and tokens: what identifies a voter is never stored raw."""

import hashlib
import hmac
import re
import secrets

from django.conf import settings

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def keyed_hash(value: str, *, purpose: str) -> str:
    """Return a hex HMAC of value, keyed by SECRET_KEY and the purpose."""
    key = hashlib.sha256(f"tally:{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def new_voter_token() -> str:
    return secrets.token_urlsafe(32)


def is_valid_voter_token(value: str | None) -> bool:
    return bool(value) and TOKEN_PATTERN.match(value) is not None


def client_ip(request) -> str:
    """Return the client's address (set by daphne from the proxy headers it trusts)."""
    return request.META.get("REMOTE_ADDR") or "unknown"
