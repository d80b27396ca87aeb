"""Browser tests: headless Chromium against a real daphne process on the test database.

Sync Playwright keeps an event loop running in the main thread, so Django's set-up and
tear-down would refuse to touch the database without DJANGO_ALLOW_ASYNC_UNSAFE; run these
tests in their own pytest invocation (``pytest -m browser``).
"""

import contextlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from playwright.sync_api import BrowserContext, Route

from tests.server import (
    START_TIMEOUT,
    LiveServer,
    daphne_env,
    free_port,
    launch_daphne,
    stop_daphne,
    wait_until_healthy,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session", autouse=True)
def _allow_database_beside_playwright():
    """Let Django use the database while Playwright's loop runs in the main thread.

    Set when the first browser test starts, not at import, so the async-safety check
    still guards every other test; it stays set for the session's database tear-down.
    """
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def pytest_collection_modifyitems(items):
    """Run browser tests last: Playwright's event loop would break async tests after it."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium: Playwright's own browser download is not available."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
        "headless": True,
    }


@pytest.fixture(scope="session")
def base_url() -> None:
    """Tests pass the server's address themselves; this also replaces pytest-playwright's
    fallback fixture, a method that newer pytest warns about."""
    return None


def serve_static(route: Route) -> None:
    """Answer /static/ from the source folders, as collectstatic would have laid them out.

    The server runs with DEBUG off and no collected files (tests must not write
    STATIC_ROOT in a shared checkout), so the browser gets the assets from here.
    """
    name = route.request.url.split("/static/", 1)[1].split("?", 1)[0]
    found = finders.find(name)
    if found is None:
        route.fulfill(status=404, body="not found")
    else:
        route.fulfill(path=found)


@pytest.fixture
def browser_context(new_context):
    """Make a browser context (one voter) for a server address; options as for new_context."""

    def make(base_url: str, **options) -> BrowserContext:
        context = new_context(base_url=base_url, **options)
        context.route("**/static/**", serve_static)
        return context

    return make


class FlakyProxy:
    """A TCP proxy in front of the server whose connections can be cut and restored.

    While it is down, open connections are torn down (a WebSocket sees close code 1006)
    and new ones are dropped at once, as on a lost network; the server keeps running.
    """

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.up = True
        self.stopping = False
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.threads: list[threading.Thread] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.up or self.stopping:
                self._reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                self._reset(client)
                continue
            upstream.settimeout(None)
            with self.lock:
                self.sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                thread = threading.Thread(target=self._pump, args=(source, sink), daemon=True)
                thread.start()
                self.threads.append(thread)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._close(source)
            self._close(sink)

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        """Close with a TCP reset, as a dead network path does to the peer."""
        with contextlib.suppress(OSError):
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
        sock.close()

    def _close(self, sock: socket.socket) -> None:
        with self.lock:
            known = sock in self.sockets
            self.sockets.discard(sock)
        if not known:
            return
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until restore()."""
        self.up = False
        with self.lock:
            open_sockets = list(self.sockets)
        for sock in open_sockets:
            self._close(sock)

    def restore(self) -> None:
        self.up = True

    def stop(self) -> None:
        self.stopping = True
        self.cut()
        self.acceptor.join(timeout=5)
        self.listener.close()
        for thread in self.threads:
            thread.join(timeout=5)


@pytest.fixture
def flaky_proxy(live_daphne: LiveServer) -> Iterator[FlakyProxy]:
    proxy = FlakyProxy(int(live_daphne.url.rsplit(":", 1)[1]))
    try:
        yield proxy
    finally:
        proxy.stop()


class RestartableDaphne:
    """A daphne process of its own that can be stopped and started again on the same port,
    as a deploy or a crash does to the server a page is connected to."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"daphne-{self.port}.log"
        self.env = daphne_env()
        self.process: subprocess.Popen | None = None

    @property
    def server(self) -> LiveServer:
        return LiveServer(url=self.url, process=self.process, log_path=self.log_path)

    def start(self) -> None:
        self.process = launch_daphne(port=self.port, log_path=self.log_path, env=self.env)
        if not wait_until_healthy(self.server, time.monotonic() + START_TIMEOUT):
            raise RuntimeError(
                f"daphne did not start on port {self.port}:\n{self.server.log_tail()}"
            )

    def stop(self) -> None:
        """Stop the process the way a deploy does: SIGTERM, then wait for it to exit."""
        if self.process is not None:
            stop_daphne(self.process)


@pytest.fixture
def restartable_daphne(django_db_setup, tmp_path) -> Iterator[RestartableDaphne]:
    daphne = RestartableDaphne(tmp_path)
    daphne.start()
    try:
        yield daphne
    finally:
        daphne.stop()


@dataclass
class ApiVoter:
    """A fresh voter talking to the server's JSON API, as a script or an app would."""

    server: LiveServer

    def __post_init__(self):
        response = httpx.get(f"{self.server.url}/", timeout=30)
        assert response.status_code == 200, self.server.log_tail()
        self.token = response.cookies[settings.VOTER_COOKIE_NAME]
        self.csrf = response.cookies["csrftoken"]

    def vote(self, code: str, option_id: int) -> httpx.Response:
        return httpx.post(
            f"{self.server.url}/poll/{code}/vote",
            json={"option": [str(option_id)]},
            headers={
                "Accept": "application/json",
                "Cookie": f"{settings.VOTER_COOKIE_NAME}={self.token}; csrftoken={self.csrf}",
                "X-CSRFToken": self.csrf,
            },
            timeout=30,
        )


def cast_api_vote(server: LiveServer, poll, option_text: str) -> None:
    """Cast one accepted vote as a new voter through the JSON API."""
    option = poll.options.get(text=option_text)
    response = ApiVoter(server).vote(poll.code, option.pk)
    assert response.status_code == 201, (response.text, server.log_tail())


@pytest.fixture
def api_vote(live_daphne: LiveServer):
    """Cast one accepted vote as a new voter through the JSON API of the shared server."""

    def cast(poll, option_text: str) -> None:
        cast_api_vote(live_daphne, poll, option_text)

    return cast
