"""A local stand-in for Groq's chat completions endpoint, speaking its streaming format.

The real `groq` client talks to it over HTTP on 127.0.0.1: server-sent events, each
`data: <chat.completion.chunk JSON>` and a blank line, the last chunk with
`finish_reason: "stop"`, then `data: [DONE]`. Each request's JSON body is recorded, and a
behaviour set before the request decides how it is answered: a stream, an error status,
a stall longer than the client's timeout, a reset mid-stream, or an endless trickle that
notes when the client hangs up.
"""

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATH = "/openai/v1/chat/completions"


@dataclass
class Behaviour:
    """How the next requests are answered."""

    tokens: list[str] = field(default_factory=lambda: ["Hello", " from", " the", " stub", "."])
    status: int = 200
    token_delay: float = 0.0
    stall: float = 0.0  # seconds to wait before answering at all
    reset_after: int | None = None  # tokens sent before the connection is reset
    endless: bool = False  # keep sending tokens until the client goes away


@dataclass
class Seen:
    body: dict
    received_at: float
    first_token_at: float = 0.0
    closed_at: float = 0.0  # when a write found the client gone


class GroqStub:
    def __init__(self):
        self.behaviour = Behaviour()
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format, *args):
                pass

            def do_POST(self):
                stub.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "GroqStub":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    @property
    def last(self) -> Seen:
        return self.requests[-1]

    def prompt(self, index: int = -1) -> str:
        """The text of every message of a recorded request, joined."""
        return "\n".join(message["content"] for message in self.requests[index].body["messages"])

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length) or b"{}")
        seen = Seen(body=body, received_at=time.monotonic())
        with self.lock:
            self.requests.append(seen)
            behaviour = self.behaviour
        if handler.path != PATH:
            self.send_json(handler, 404, {"error": {"message": "not found"}})
            return
        if behaviour.stall:
            time.sleep(behaviour.stall)
        if behaviour.status != 200:
            headers = {"retry-after": "30"} if behaviour.status == 429 else {}
            self.send_json(
                handler,
                behaviour.status,
                {"error": {"message": f"stub error {behaviour.status}", "type": "stub"}},
                headers,
            )
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.end_headers()
        try:
            self.stream(handler, behaviour, seen, body.get("model", "stub"))
        except (BrokenPipeError, ConnectionResetError):
            seen.closed_at = time.monotonic()

    def stream(self, handler, behaviour: Behaviour, seen: Seen, model: str) -> None:
        def event(payload) -> None:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            handler.wfile.write(f"data: {data}\n\n".encode())
            handler.wfile.flush()

        def chunk(content: str | None, finish: str | None = None) -> dict:
            delta = {"content": content} if content is not None else {}
            return {
                "id": "chatcmpl-stub",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        opening = chunk("")
        opening["choices"][0]["delta"]["role"] = "assistant"
        event(opening)
        count = 0
        tokens = iter(behaviour.tokens)
        while True:
            if behaviour.endless:
                token = f" t{count}"
            else:
                token = next(tokens, None)
                if token is None:
                    break
            if behaviour.token_delay and count:
                time.sleep(behaviour.token_delay)
            if behaviour.reset_after is not None and count == behaviour.reset_after:
                self.reset(handler)
                return
            event(chunk(token))
            if not count:
                seen.first_token_at = time.monotonic()
            count += 1
        event(chunk(None, "stop"))
        event("[DONE]")

    @staticmethod
    def reset(handler) -> None:
        """Drop the connection with a TCP reset, as a failing upstream does."""
        sock = handler.connection
        with contextlib.suppress(OSError):
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
        sock.close()
        handler.close_connection = True
        handler.wfile = _Discard()

    @staticmethod
    def send_json(handler, status: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)


class _Discard:
    closed = False

    def write(self, data):
        return len(data)

    def flush(self):
        pass

    def close(self):
        pass
