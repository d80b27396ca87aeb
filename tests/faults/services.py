"""Private Redis and PostgreSQL servers for fault tests: killed and restarted at will, on
ports of their own, so the machine's shared servers are never touched."""

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.server import free_port

START_TIMEOUT = 30.0


def _wait(check, what: str, timeout: float = START_TIMEOUT) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f}s")


class PrivateRedis:
    """A redis-server on a free port of 127.0.0.1, without persistence."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        result = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
        )
        return result.stdout.strip() == "PONG"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(self.ping, "redis-server")

    def kill(self) -> None:
        """Kill the server outright, as a crash or a lost machine would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self.kill()


def postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(f"{name} not found under /usr/lib/postgresql/*/bin")
    return found[-1]


class PrivatePostgres:
    """A PostgreSQL cluster initialised in a temporary folder, on a free port."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.datadir = workdir / "data"
        self.socketdir = workdir
        self.log = workdir / "postgres.log"
        # initdb and postgres refuse to run as root: run them as the owner of the folder.
        self.user = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/tally"

    def _run(self, *args, check=True) -> subprocess.CompletedProcess:
        command = list(args)
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check)

    def init(self) -> None:
        if self.user:
            shutil.chown(self.socketdir, self.user)
        self._run(
            postgres_bin("initdb"),
            "-D",
            str(self.datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def ready(self) -> bool:
        result = self._run(
            postgres_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), check=False
        )
        return result.returncode == 0

    def start(self) -> None:
        self._run(
            postgres_bin("pg_ctl"),
            "-D",
            str(self.datadir),
            "-l",
            str(self.log),
            "-o",
            f"-p {self.port} -k {self.socketdir} -c listen_addresses=127.0.0.1 -c fsync=off",
            "-w",
            "start",
        )
        _wait(self.ready, "PostgreSQL")

    def create_database(self, name: str = "tally") -> None:
        self._run(
            postgres_bin("createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            name,
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(
            postgres_bin("pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop", check=False
        )


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_postgres():
    # Not under pytest's temporary folder: its parents are private to root, and PostgreSQL
    # runs as its own user.
    workdir = Path(tempfile.mkdtemp(prefix="tally-pg-"))
    workdir.chmod(0o755)
    server = PrivatePostgres(workdir)
    try:
        server.init()
        server.start()
        server.create_database()
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(workdir, ignore_errors=True)
