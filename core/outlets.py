"""One encoded frame written to many WebSockets, each socket's backlog bounded.

A push to every open page of a poll is rendered and encoded once per server process, and
each of its sockets then gets the same bytes. Under daphne the bytes go straight to the
socket's transport: a text frame from a server is the same bytes for every socket (no
mask, and daphne negotiates no compression), so nothing is done again per socket. Under
any other server (and in tests) the text goes through the consumer's ASGI send.

A client that stops reading must not make the server hold its pushes without bound: once
more than BACKLOG_LIMIT bytes wait unsent for a socket, the socket is dropped. Its page
reconnects by itself and catches up from the snapshot every new socket gets.
"""

import functools
from dataclasses import dataclass
from functools import cached_property

from daphne.ws_protocol import WebSocketProtocol

BACKLOG_LIMIT = 256 * 1024
SCOPE_KEY = "tally.websocket"
TEXT_FRAME = 0x81  # FIN and the text opcode


def encode_text_frame(payload: bytes) -> bytes:
    """The WebSocket frame a server sends for one text message (RFC 6455 §5.2)."""
    size = len(payload)
    if size < 126:
        header = bytes((TEXT_FRAME, size))
    elif size < 1 << 16:
        header = bytes((TEXT_FRAME, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((TEXT_FRAME, 127)) + size.to_bytes(8, "big")
    return header + payload


@dataclass(frozen=True)
class Frame:
    """A rendered fragment, encoded at most once however many sockets it goes to."""

    text: str

    @cached_property
    def payload(self) -> bytes:
        return self.text.encode()

    @cached_property
    def wire(self) -> bytes:
        return encode_text_frame(self.payload)


def unsent_bytes(transport) -> int:
    """Bytes a Twisted transport holds for its peer (under TLS: the TCP transport's)."""
    while not hasattr(transport, "dataBuffer") and hasattr(transport, "transport"):
        transport = transport.transport
    buffered = len(getattr(transport, "dataBuffer", b"")) - getattr(transport, "offset", 0)
    return buffered + getattr(transport, "_tempDataLen", 0)


def send_or_queue(transport, data: bytes, *, unsent: int | None = None) -> None:
    """Send data at once when nothing waits before it, else queue it behind what waits
    (unsent: unsent_bytes(transport), when the caller has just measured it).

    Twisted would queue every write and send it once the socket is writable: two epoll
    changes and a loop round per socket per frame. One send() usually takes it all.
    """
    if unsent is None:
        unsent = unsent_bytes(transport)
    sock = getattr(transport, "socket", None)  # a plain TCP transport (under TLS: none)
    if sock is None or transport.disconnecting or unsent:
        transport.write(data)
        return
    try:
        sent = sock.send(data)
    except (BlockingIOError, InterruptedError):
        sent = 0
    except OSError:
        return  # the connection is gone: Twisted finds out on its next read
    if sent < len(data):
        transport.write(data[sent:])


class Outlet:
    """Where one socket's pushed frames go."""

    def __init__(self, *, scope, send):
        self.protocol: WebSocketProtocol | None = scope.get(SCOPE_KEY)
        self.send = send

    async def write(self, frame: Frame) -> None:
        protocol = self.protocol
        if protocol is None:
            await self.send(text_data=frame.text)
            return
        if protocol.state != protocol.STATE_OPEN:
            return  # closing or closed: the disconnect event follows
        transport = protocol.transport
        unsent = unsent_bytes(transport)
        if unsent > BACKLOG_LIMIT:
            transport.abortConnection()  # a close handshake would wait behind the backlog
        elif getattr(protocol, "_perMessageCompress", None) is None:
            send_or_queue(transport, frame.wire, unsent=unsent)
        else:
            protocol.sendMessage(frame.payload)


def _daphne_protocol(send) -> WebSocketProtocol | None:
    # daphne hands each application instance partial(server.handle_reply, protocol).
    if isinstance(send, functools.partial) and send.args:
        protocol = send.args[0]
        if isinstance(protocol, WebSocketProtocol):
            return protocol
    return None


class OutletMiddleware:
    """ASGI middleware: under daphne, let a socket's Outlet write to its transport."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        protocol = _daphne_protocol(send)
        if protocol is not None:
            scope = {**scope, SCOPE_KEY: protocol}
        return await self.app(scope, receive, send)
