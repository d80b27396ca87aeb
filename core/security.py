"""Keyed hashes and the client address: what identifies a person is never stored raw."""

import hashlib
import hmac

from django.conf import settings


def keyed_hash(value: str, *, purpose: str) -> str:
    """Return a hex HMAC of value, keyed by SECRET_KEY and the purpose."""
    key = hashlib.sha256(f"tally:{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def client_ip(request) -> str:
    """Return the client's address (set by daphne from the proxy headers it trusts)."""
    return request.META.get("REMOTE_ADDR") or "unknown"
