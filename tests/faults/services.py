"""Private Redis and PostgreSQL servers for fault tests: killed and restarted at will, on
ports of their own, so the machine's shared servers are never touched."""

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
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


CELERY = Path(sys.executable).with_name("celery")


def _process_group(pgid: int) -> list[int]:
    """Return the live (not zombie) processes of a process group, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # The fields after the command name, which may itself hold spaces and parentheses.
        state, _ppid, group = text.rpartition(")")[2].split()[:3]
        if int(group) == pgid and state not in ("Z", "X"):
            members.append(int(stat.parent.name))
    return members


class CeleryProcess:
    """A `celery -A config ...` command (a worker or beat) in a process group of its own, so
    that it can be killed with all of its children at once; its output goes to log_path."""

    def __init__(self, args: list[str], *, env: dict[str, str], log_path: Path):
        self.args = args
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(CELERY), "-A", "config", *self.args],
                cwd=Path(__file__).resolve().parents[2],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_for_log(self, text: str, timeout: float = START_TIMEOUT) -> None:
        """Wait until the output holds text; fail with the output's tail if it does not."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.log():
                return
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.05)
        tail = "\n".join(self.log().splitlines()[-30:])
        raise RuntimeError(f"celery {self.args[0]} never logged {text!r}:\n{tail}")

    def processes(self) -> list[int]:
        return _process_group(self.process.pid) if self.process is not None else []

    def kill(self, timeout: float = 10.0) -> None:
        """kill -9 the whole process group, as an OOM kill or a lost machine would, and
        wait until none of its processes is left."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=timeout)
        _wait(lambda: not self.processes(), "the end of the killed processes", timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """Shut down warmly (SIGTERM); kill what is still running after timeout."""
        if self.process is None or self.process.poll() is not None:
            self.kill()
            return
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)
        self.kill()


def celery_worker(name: str, *, env: dict[str, str], log_dir: Path) -> CeleryProcess:
    """A production-like worker: the prefork pool with one child, so one task at a time."""
    return CeleryProcess(
        [
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "--loglevel",
            "info",
            "--hostname",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        env=env,
        log_path=log_dir / f"celery-{name}.log",
    )


def celery_beat(name: str, *, env: dict[str, str], log_dir: Path, schedule: Path) -> CeleryProcess:
    """Celery beat keeping its schedule's state in the file schedule."""
    return CeleryProcess(
        ["beat", "--loglevel", "info", "--schedule", str(schedule)],
        env=env,
        log_path=log_dir / f"celery-{name}.log",
    )
