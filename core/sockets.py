"""Caps on open WebSockets per client address, for every socket Tally serves.

One client (an address, or an IPv6 /64) may hold at most WS_SOCKETS_PER_ADDRESS sockets
of any kind on a server process, and at most WS_ASK_SOCKETS_PER_ADDRESS "ask this poll"
sockets, whose questions cost model calls. A handshake past a cap is refused (HTTP 403)
before any consumer runs; the count drops when the socket ends, however it ends. Counts
are per server process: a client spread over N processes may hold N times the cap, which
still bounds what it can cost. RATELIMIT_ENABLE=false turns the caps off (load tests).
"""

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from core.security import address_group, scope_client_ip

ASK_SUFFIX = "/ask/"


class SocketCounts:
    """Open sockets per (kind, address) in this process."""

    def __init__(self):
        self.lock = threading.Lock()
        self.open: Counter[tuple[str, str]] = Counter()

    def try_claim(self, keys: list[tuple[str, str, int]]) -> bool:
        """Count one more socket under every (kind, address, cap), or none if any is full."""
        with self.lock:
            if any(self.open[(kind, address)] >= cap for kind, address, cap in keys):
                return False
            for kind, address, _cap in keys:
                self.open[(kind, address)] += 1
            return True

    def release(self, keys: list[tuple[str, str, int]]) -> None:
        with self.lock:
            for kind, address, _cap in keys:
                self.open[(kind, address)] -= 1
                if self.open[(kind, address)] <= 0:
                    del self.open[(kind, address)]

    def count(self, kind: str, address: str) -> int:
        with self.lock:
            return self.open[(kind, address_group(address))]


counts = SocketCounts()


def socket_caps(scope) -> list[tuple[str, str, int]]:
    """The (kind, address, cap) this socket counts under."""
    address = address_group(scope_client_ip(scope))
    caps = [("any", address, settings.WS_SOCKETS_PER_ADDRESS)]
    if scope.get("path", "").endswith(ASK_SUFFIX):
        caps.append(("ask", address, settings.WS_ASK_SOCKETS_PER_ADDRESS))
    return caps


@contextmanager
def socket_slot(scope) -> Iterator[bool]:
    """Hold this socket's place under its caps while the block runs; False if refused."""
    if not settings.RATELIMIT_ENABLE:
        yield True
        return
    keys = socket_caps(scope)
    if not counts.try_claim(keys):
        yield False
        return
    try:
        yield True
    finally:
        counts.release(keys)


class SocketCapMiddleware:
    """ASGI middleware: refuse a WebSocket handshake once its address holds too many."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        with socket_slot(scope) as allowed:
            if allowed:
                return await self.app(scope, receive, send)
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 1008})
            return None
