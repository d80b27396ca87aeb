"""A real daphne process serving Tally on the test database, for tests that need true
concurrency over HTTP (separate connections, threads and database sessions)."""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent
DAPHNE = Path(sys.executable).with_name("daphne")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
START_ATTEMPTS = 3
ACCESS_LOG_LINE = re.compile(r'^\S+:\d+ - - \[[^]]*\] "')


@dataclass(frozen=True)
class LiveServer:
    """A running daphne process and where to reach it."""

    url: str
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        """Return the last lines the server wrote, access-log lines left out, to explain
        a failure."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        kept = [line for line in text.splitlines() if not ACCESS_LOG_LINE.match(line)]
        return "\n".join(kept[-lines:])


def database_url(settings_dict: dict) -> str:
    """Return a DATABASE_URL for the database these connection settings point at.

    Called after pytest-django has created the test database, so NAME is the test
    database's name; the server is not in test mode and connects to it as named.
    """
    name = str(settings_dict["NAME"])
    if "sqlite" in settings_dict["ENGINE"]:
        return f"sqlite:///{Path(name).resolve()}"
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{quote(name, safe='')}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(server: LiveServer, deadline: float) -> bool:
    """Poll /health until it answers 200; False if the process died first."""
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            if httpx.get(f"{server.url}/health", timeout=2.0).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"daphne did not answer /health within {START_TIMEOUT:.0f}s:\n{server.log_tail()}"
    )


def stop_daphne(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def daphne_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a test server: the current test database, rate limits off (so
    many requests from one address are all served), and env's additions."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(connection.settings_dict),
        "RATELIMIT_ENABLE": "false",
        # Bursts of hundreds of requests queue for the pool; on a busy machine a short
        # wait would turn them into 503s that say nothing about counting.
        "DATABASE_POOL_TIMEOUT": "60",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }


def launch_daphne(*, port: int, log_path: Path, env: dict[str, str]) -> subprocess.Popen:
    """Start daphne serving config.asgi on 127.0.0.1:port, appending its output to log_path."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [
                str(DAPHNE),
                "-e",
                f"tcp:port={port}:interface=127.0.0.1:backlog=1024",
                "config.asgi:application",
            ],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@contextmanager
def run_daphne(*, log_dir: Path, env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """Start daphne on a free port and the current test database (see daphne_env)."""
    server_env = daphne_env(env)
    for attempt in range(1, START_ATTEMPTS + 1):
        port = free_port()
        log_path = log_dir / f"daphne-{port}.log"
        process = launch_daphne(port=port, log_path=log_path, env=server_env)
        server = LiveServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
        try:
            healthy = wait_until_healthy(server, time.monotonic() + START_TIMEOUT)
        except BaseException:
            stop_daphne(process)
            raise
        if healthy:
            break
        # The port may have been taken between choosing it and binding it: try another.
        if attempt == START_ATTEMPTS:
            raise RuntimeError(f"daphne exited with {process.returncode}:\n{server.log_tail()}")
    try:
        yield server
    finally:
        stop_daphne(server.process)


@pytest.fixture(scope="module")
def live_daphne(django_db_setup, tmp_path_factory) -> Iterator[LiveServer]:
    """A daphne process serving Tally over real HTTP on the test database.

    Tests using it need django_db(transaction=True): the server only sees committed data.
    """
    with run_daphne(log_dir=tmp_path_factory.mktemp("daphne")) as server:
        yield server
