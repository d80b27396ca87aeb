"""Keyed hashes and the client address: what identifies a person is never stored raw.

The client address is worked out here and only here, for requests and sockets alike: the
peer's address, unless the peer is one of TRUSTED_PROXIES, in which case the right-most
X-Forwarded-For entry that is not itself a trusted proxy. A client cannot choose its own
address by sending the header, because only a trusted proxy's word is taken.
"""

import functools
import hashlib
import hmac
import ipaddress

from django.conf import settings

# IPv6 clients get a /64 each from their provider: per-address limits and the per-address
# vote rule count the /64, or one client could vote from 2^64 addresses.
IPV6_GROUP_PREFIX = 64


def _hash_key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"tally:{purpose}:{secret}".encode()).digest()


def _hmac(secret: str, value: str, purpose: str) -> str:
    return hmac.new(
        _hash_key(secret, purpose), value.encode("utf-8", "surrogatepass"), hashlib.sha256
    ).hexdigest()


def keyed_hash(value: str, *, purpose: str) -> str:
    """Return a hex HMAC of value, keyed by HASH_KEY and the purpose.

    HASH_KEY is not SECRET_KEY: rotating the key that signs sessions and cookies must not
    turn every stored voter, address and creator hash into a stranger's.
    """
    return _hmac(settings.HASH_KEY, value, purpose)


def keyed_hash_candidates(value: str, *, purpose: str) -> list[str]:
    """The hash under HASH_KEY, then under each of HASH_KEY_FALLBACKS, to match stored ones."""
    return [
        _hmac(secret, value, purpose)
        for secret in [settings.HASH_KEY, *settings.HASH_KEY_FALLBACKS]
    ]


@functools.cache
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry)


def trusted_proxy_networks() -> tuple:
    return _networks(tuple(settings.TRUSTED_PROXIES))


def _parse(address: str):
    try:
        return ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None


def is_trusted_proxy(address: str) -> bool:
    parsed = _parse(address)
    return parsed is not None and any(parsed in network for network in trusted_proxy_networks())


def resolve_client_address(peer: str | None, forwarded_for: str | None) -> str:
    """The client's address from the peer's and (from a trusted proxy only) its header."""
    peer = (peer or "").strip() or "unknown"
    if not forwarded_for or not is_trusted_proxy(peer):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if _parse(hop) is None:
            return peer  # a garbled chain: believe only what we saw ourselves
        if not is_trusted_proxy(hop):
            return str(_parse(hop))
    return str(_parse(hops[0])) if hops else peer


def client_ip(request) -> str:
    """Return the address of the client behind a request (see the module docstring)."""
    return resolve_client_address(
        request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR")
    )


def scope_client_ip(scope) -> str:
    """Return the address of the client behind a socket, by the same rule as client_ip."""
    client = scope.get("client") or ("unknown", 0)
    forwarded = None
    for name, value in scope.get("headers") or ():
        if name == b"x-forwarded-for":
            value = value.decode("latin-1")
            forwarded = value if forwarded is None else f"{forwarded}, {value}"
    return resolve_client_address(client[0], forwarded)


def address_group(address: str) -> str:
    """What per-address rules count: an IPv4 address, or an IPv6 address's /64."""
    parsed = _parse(address)
    if parsed is None:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_GROUP_PREFIX}", strict=False))
    return str(parsed)
