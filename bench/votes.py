"""Vote throughput benchmark: the production stack on loopback, driven by wrk.

    .venv/bin/python bench/votes.py [--processes N] [--duration S] [--connections 64]

It creates its own PostgreSQL database (dropped and recreated each run), migrates it, starts
N daphne processes serving config.asgi:application with the production settings on one
loopback port, creates a poll, and runs wrk with every request a JSON vote by a new voter.
Then it reads the poll's results and checks that the final count equals the votes wrk saw
accepted (201). Every process it starts is stopped on the way out, whatever happens.

Needs: PostgreSQL (trust auth for the admin DSN), Redis, wrk (Debian package ``wrk``).
See bench/README.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
LUA_SCRIPT = BENCH_DIR / "vote.lua"
ALNUM = string.ascii_letters + string.digits


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=2, help="daphne processes (2)")
    parser.add_argument("--duration", type=int, default=30, help="measured seconds (30)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up seconds, other poll (5)")
    parser.add_argument(
        "--drain", type=int, default=10, help="seconds allowed for answers in flight (10)"
    )
    parser.add_argument("--options", type=int, default=4, help="options on the poll (4)")
    parser.add_argument(
        "--listen",
        choices=["reuseport", "shared"],
        default="reuseport",
        help="reuseport: one SO_REUSEPORT socket per process on the same port, the kernel "
        "spreads connections evenly (default); shared: one socket inherited by all",
    )
    parser.add_argument(
        "--app",
        default="config.asgi:application",
        help="ASGI application daphne serves (config.asgi:application)",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="votes through Django's view stack (FAST_VOTE=false), not the fast route",
    )
    parser.add_argument("--database", default="tally_bench", help="database to (re)create")
    parser.add_argument(
        "--admin-dsn",
        default=os.environ.get("BENCH_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
        help="where to run CREATE/DROP DATABASE",
    )
    parser.add_argument(
        "--db-url-base",
        default=os.environ.get("BENCH_DB_URL_BASE", "postgres://postgres@127.0.0.1:5432"),
        help="DATABASE_URL without the database name",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database after")
    parser.add_argument(
        "--access-log", action="store_true", help="let daphne write its access log (off)"
    )
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="py-spy record daphne process 0 during the measured run, samples of the thread "
        "holding the GIL only (.txt: collapsed stacks for bench/profile_summary.py, .json: "
        "speedscope, anything else: flame graph SVG)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.processes < 1 or args.connections < 1 or args.duration < 1:
        parser.error("--processes, --connections and --duration must be positive")
    return args


# Database


def recreate_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def server_env(args) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="".join(secrets.choice(ALNUM) for _ in range(64)),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=f"{args.db_url_base}/{args.database}",
        REDIS_URL=args.redis_url,
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        SECURE_HSTS_SECONDS="0",
        RATELIMIT_ENABLE="false",
        FAST_VOTE="false" if args.plain else "true",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=PROJECT_DIR,
        env=env,
        check=True,
        timeout=300,
    )


# Sockets and servers


def listening_socket(port: int = 0, *, reuseport: bool = False) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


@dataclass
class Server:
    process: subprocess.Popen
    health_port: int
    log_path: Path
    cpu_start: float = 0.0
    extra: list = field(default_factory=list)


def daphne_command() -> list[str]:
    candidate = Path(sys.executable).with_name("daphne")
    if candidate.exists():
        return [str(candidate)]
    found = shutil.which("daphne")
    if found:
        return [found]
    return [sys.executable, "-m", "daphne"]


def start_servers(args, env, workdir: Path, servers: list[Server]) -> int:
    """Start the daphne processes, appending each to servers at once (so that a failure
    half-way still stops those already started); return the shared port.

    Each process gets the public socket (--fd) and a private one of its own (-e fd:...) used
    only to check that this very process is up and to warm it.
    """
    reuseport = args.listen == "reuseport"
    first = listening_socket(0, reuseport=reuseport)
    port = first.getsockname()[1]
    public = [first]
    if reuseport:
        public += [listening_socket(port, reuseport=True) for _ in range(args.processes - 1)]
    try:
        for index in range(args.processes):
            sock = public[index] if reuseport else first
            private = listening_socket(0)
            log_path = workdir / f"daphne-{index}.log"
            command = [
                *daphne_command(),
                "--fd",
                str(sock.fileno()),
                "-e",
                f"fd:fileno={private.fileno()}",
                "-v",
                "1" if args.access_log else "0",
                args.app,
            ]
            with private, open(log_path, "wb") as log:
                process = subprocess.Popen(
                    command,
                    cwd=PROJECT_DIR,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(sock.fileno(), private.fileno()),
                    start_new_session=True,
                )
                servers.append(Server(process, private.getsockname()[1], log_path))
    finally:
        for sock in public:
            sock.close()
    return port


def stop_servers(servers: list[Server], timeout: float = 5.0) -> None:
    for server in servers:
        if server.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for server in servers:
        try:
            server.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(5)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# HTTP helpers (plain http.client: these few requests are for set-up and checks only)


def request(port, method, path, *, body=None, headers=None, timeout=10.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def wait_healthy(servers: list[Server], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    for index, server in enumerate(servers):
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"daphne {index} exited with {server.process.returncode}:\n"
                    + server.log_path.read_text(errors="replace")[-3000:]
                )
            try:
                status, _, _ = request(server.health_port, "GET", "/health", timeout=2)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"daphne {index} not healthy after {timeout:.0f}s")
            time.sleep(0.2)


def csrf_token(port: int) -> tuple[str, str]:
    """A csrftoken from the home page's cookie, as a browser gets it.

    Django compares the cookie with the X-CSRFToken header, so one token serves every voter.
    If the home page cannot render (e.g. no collectstatic manifest), a locally made secret
    of the same form is used: the check is the same.
    """
    try:
        status, headers, _ = request(port, "GET", "/", headers={"Accept": "text/html"})
        for name, value in headers:
            if name.lower() == "set-cookie" and value.startswith("csrftoken="):
                return value.split(";", 1)[0].split("=", 1)[1], "GET /"
        source = f"generated (GET / answered {status} without a csrftoken cookie)"
    except OSError as error:
        source = f"generated (GET / failed: {error})"
    return "".join(secrets.choice(ALNUM) for _ in range(32)), source


def json_headers(csrf: str, voter: str | None = None) -> dict[str, str]:
    cookie = f"csrftoken={csrf}"
    if voter:
        cookie = f"tally_voter={voter}; {cookie}"
    return {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": csrf,
        "Cookie": cookie,
    }


def create_poll(port: int, csrf: str, question: str, n_options: int) -> tuple[str, list[int]]:
    body = json.dumps(
        {"question": question, "options": [f"Option {i + 1}" for i in range(n_options)]}
    )
    status, _, raw = request(port, "POST", "/create", body=body, headers=json_headers(csrf))
    if status != 201:
        raise RuntimeError(f"POST /create answered {status}: {raw[:500]!r}")
    code = json.loads(raw)["code"]
    return code, [option["id"] for option in poll_results(port, code)["options"]]


def poll_results(port: int, code: str) -> dict:
    status, _, raw = request(
        port, "GET", f"/poll/{code}/results", headers={"Accept": "application/json"}
    )
    if status != 200:
        raise RuntimeError(f"GET /poll/{code}/results answered {status}: {raw[:500]!r}")
    return json.loads(raw)


def voter_prefix() -> str:
    return "".join(secrets.choice(ALNUM) for _ in range(8))


# wrk


def run_wrk(args, port, code, csrf, option_ids, duration, connections) -> dict:
    """Run wrk: send votes for `duration` seconds, then wait for the answers in flight.

    The Lua script stops sending at stop_at and prints BENCH_DRAINED per thread once every
    answer is in; wrk is then interrupted (SIGINT ends it normally, with its summary).
    """
    threads = min(args.threads, connections)
    stop_at_ms = (time.time() + duration + 0.2) * 1000
    command = [
        "wrk",
        "-c",
        str(connections),
        "-t",
        str(threads),
        "-d",
        f"{duration + args.drain + 1}s",
        "--timeout",
        f"{args.drain}s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        f"http://127.0.0.1:{port}",
        "--",
        code,
        csrf,
        voter_prefix(),
        ",".join(map(str, option_ids)),
        f"{stop_at_ms:.0f}",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    watchdog = threading.Timer(duration + args.drain + 30, process.kill)
    watchdog.start()
    lines, drained = [], set()
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("BENCH_DRAINED "):
                drained.add(line.split()[1])
                if len(drained) == threads and process.poll() is None:
                    process.send_signal(signal.SIGINT)
        stderr = process.stderr.read()
        process.wait(10)
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait(5)
    output = "".join(line for line in lines if not line.startswith("BENCH_DRAINED "))
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {stderr[-2000:]}")
    for line in output.splitlines():
        if line.startswith("BENCH_RESULT "):
            result = json.loads(line.removeprefix("BENCH_RESULT "))
            result["wrk_output"] = output
            result["drained"] = len(drained) == threads
            return result
    raise RuntimeError(f"wrk printed no result:\n{output}\n{stderr}")


def start_profiler(args, pid: int, duration: int) -> subprocess.Popen | None:
    if not args.profile:
        return None
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        py_spy = shutil.which("py-spy")
        if not py_spy:
            raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
    suffix = Path(args.profile).suffix
    fmt = {".txt": "raw", ".json": "speedscope"}.get(suffix, "flamegraph")
    return subprocess.Popen(
        [
            str(py_spy),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(duration),
            "--rate",
            "200",
            "--gil",
            "--nonblocking",
            "--format",
            fmt,
            "--output",
            args.profile,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


# The run


def ms(us: float) -> str:
    return f"{us / 1000:.1f} ms"


def report(args, figures: dict) -> None:
    wrk = figures["wrk"]
    window = wrk["window_ms"] / 1000
    accepted = wrk["statuses"].get("201", 0)
    rate = wrk["accepted_in_window"] / window if window else 0.0
    others = {s: n for s, n in sorted(wrk["statuses"].items()) if s != "201"}
    errors = {k: v for k, v in wrk["errors"].items() if v and k != "status"}
    lat = wrk["latency_us"]
    print()
    print(
        f"Tally vote benchmark: {args.processes} daphne process(es), {args.listen} socket, "
        f"{args.connections} connections, {window:.1f} s, {os.cpu_count()} CPUs, {args.app}, "
        f"load before {figures['load_before']}, app {figures['app_version']}"
    )
    print(f"  accepted votes/s         {rate:,.0f}")
    print(f"  answers/s                {wrk['answered_in_window'] / window:,.0f}")
    print(
        f"  latency                  p50 {ms(lat['p50'])}  p90 {ms(lat['p90'])}  "
        f"p99 {ms(lat['p99'])}  max {ms(lat['max'])}"
    )
    print(f"  requests sent/answered   {wrk['sent']}/{wrk['answered']}")
    print(f"  201 counted by wrk       {accepted}")
    print(f"  total_votes in results   {figures['total_votes']}")
    verdict = "yes" if figures["total_votes"] == accepted else "NO"
    print(f"  final count equals accepted: {verdict}")
    print(f"  non-201 statuses         {others or 'none'}")
    print(f"  socket errors            {errors or 'none'}")
    cpu = figures["cpu_percent"]
    print(
        "  CPU during run           "
        + "  ".join(f"daphne{i} {c:.0f}%" for i, c in enumerate(cpu["daphne"]))
        + f"  postgres {cpu['postgres']:.0f}%  redis {cpu['redis']:.0f}%  wrk {cpu['wrk']:.0f}%"
        + f"  machine {cpu['machine']:.0f}% of {os.cpu_count() * 100}%"
    )
    per_vote = figures["cpu_ms_per_accepted_vote"]
    print(
        f"  CPU per accepted vote    daphne {per_vote['daphne']:.2f} ms (all processes)  "
        f"postgres {per_vote['postgres']:.2f} ms  redis {per_vote['redis']:.2f} ms  "
        f"wrk {per_vote['wrk']:.2f} ms"
    )
    print(
        f"  machine CPU per vote     {per_vote['machine']:.2f} ms of the 2 ms budget at 1,000/s "
        "on 2 cores (includes anything else the machine ran meanwhile)"
    )
    target = rate >= 1000 and lat["p99"] < 150_000
    print(f"  target (>=1,000 votes/s at p99 < 150 ms): {'met' if target else 'not met'}")


def database_backends(admin_dsn: str, name: str) -> set[int]:
    """Process ids of the PostgreSQL backends serving the benchmark database (local server)."""
    try:
        with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", [name]
            ).fetchall()
    except psycopg.Error:
        return set()
    return {row[0] for row in rows}


def print_server_warnings(servers: list[Server], limit: int = 5) -> None:
    """Show the distinct warnings and errors the servers logged (LOG_LEVEL=WARNING)."""
    seen: dict[str, int] = {}
    for server in servers:
        for line in server.log_path.read_text(errors="replace").splitlines():
            if " WARNING " in line or " ERROR " in line or " CRITICAL " in line:
                message = line.split(" ", 2)[-1]
                seen[message] = seen.get(message, 0) + 1
    if not seen:
        print("  server warnings/errors   none")
        return
    print(f"  server warnings/errors   {sum(seen.values())}, distinct:")
    for message, count in list(seen.items())[:limit]:
        print(f"    {count} x {message[:300]}")


def app_version() -> str:
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        commit = ""
    return commit or "unknown"


def redis_servers() -> list[int]:
    """Process ids of the local redis-server processes (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "redis-server":
                    pids.append(int(entry.name))
    return pids


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores)."""
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = list(map(int, parts))
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def main(argv=None) -> int:
    args = parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started in background
    env = server_env(args)
    servers: list[Server] = []
    profiler = None
    created_db = False
    workdir = Path(tempfile.mkdtemp(prefix="tally-bench-"))
    try:
        print(f"Recreating database {args.database} and migrating ...", flush=True)
        recreate_database(args.admin_dsn, args.database)
        created_db = True
        migrate(env)

        port = start_servers(args, env, workdir, servers)
        print(
            f"Started {len(servers)} daphne process(es) on 127.0.0.1:{port} "
            f"(pids {', '.join(str(s.process.pid) for s in servers)}); waiting for /health ...",
            flush=True,
        )
        wait_healthy(servers)

        csrf, csrf_source = csrf_token(port)
        print(f"csrftoken: {csrf_source}", flush=True)
        warm_code, warm_options = create_poll(port, csrf, "Warm-up poll", args.options)
        code, option_ids = create_poll(port, csrf, "Benchmark poll", args.options)

        # Warm every process on its private port (imports, URL resolver, pool), then the
        # whole stack with a short wrk run on the warm-up poll.
        for server in servers:
            for _ in range(10):
                status, _, raw = request(
                    server.health_port,
                    "POST",
                    f"/poll/{warm_code}/vote",
                    body=json.dumps({"option": warm_options[0]}),
                    headers=json_headers(csrf, voter_prefix() * 5),
                )
                if status != 201:
                    raise RuntimeError(f"warm-up vote answered {status}: {raw[:500]!r}")
        if args.warmup:
            run_wrk(args, port, warm_code, csrf, warm_options, args.warmup, args.connections)

        load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"Load average before the run: {load_before}. "
            f"Running wrk for {args.duration}s on poll {code} ...",
            flush=True,
        )
        for server in servers:
            server.cpu_start = process_cpu_seconds(server.process.pid)
        backends_start = {
            pid: process_cpu_seconds(pid)
            for pid in database_backends(args.admin_dsn, args.database)
        }
        redis_start = {pid: process_cpu_seconds(pid) for pid in redis_servers()}
        profiler = start_profiler(args, servers[0].process.pid, args.duration)
        machine_start, clock_start = machine_cpu_seconds(), time.monotonic()
        children_start = os.times()
        wrk = run_wrk(args, port, code, csrf, option_ids, args.duration, args.connections)
        children_end = os.times()
        wall = time.monotonic() - clock_start
        machine_cpu = machine_cpu_seconds() - machine_start
        machine = machine_cpu / wall * 100
        redis_cpu = sum(process_cpu_seconds(pid) - cpu for pid, cpu in redis_start.items())
        backends = database_backends(args.admin_dsn, args.database) | set(backends_start)
        postgres_cpu = sum(
            process_cpu_seconds(pid) - backends_start.get(pid, 0.0) for pid in backends
        )
        daphne_cpu = [
            (process_cpu_seconds(s.process.pid) - s.cpu_start) / wall * 100 for s in servers
        ]
        wrk_cpu = (
            (children_end.children_user - children_start.children_user)
            + (children_end.children_system - children_start.children_system)
        ) / wall
        if profiler is not None:
            try:
                _, err = profiler.communicate(timeout=60)
                if profiler.returncode:
                    print(f"py-spy failed: {err.decode(errors='replace')[-1000:]}", flush=True)
                else:
                    print(f"Profile written to {args.profile}", flush=True)
            except subprocess.TimeoutExpired:
                print("py-spy did not finish in time", flush=True)
        total_votes = poll_results(port, code)["total_votes"]
        figures = {
            "app_version": app_version(),
            "processes": args.processes,
            "listen": args.listen,
            "connections": args.connections,
            "load_before": load_before,
            "wrk": {k: v for k, v in wrk.items() if k != "wrk_output"},
            "total_votes": total_votes,
            "cpu_percent": {
                "daphne": daphne_cpu,
                "postgres": postgres_cpu / wall * 100,
                "wrk": wrk_cpu * 100,
                "redis": redis_cpu / wall * 100,
                "machine": machine,
            },
            "cpu_ms_per_accepted_vote": {
                name: seconds * 1000 / max(1, wrk["statuses"].get("201", 0))
                for name, seconds in {
                    "daphne": sum(daphne_cpu) / 100 * wall,
                    "postgres": postgres_cpu,
                    "redis": redis_cpu,
                    "wrk": wrk_cpu * wall,
                    "machine": machine_cpu,
                }.items()
            },
        }
        print(wrk["wrk_output"].split("BENCH_RESULT")[0].rstrip())
        report(args, figures)
        print_server_warnings(servers)
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2))
        ok = total_votes == wrk["statuses"].get("201", 0) and wrk["sent"] == wrk["answered"]
        return 0 if ok else 1
    except KeyboardInterrupt:
        print("Interrupted; cleaning up.", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # finish cleaning up first
        if profiler is not None and profiler.poll() is None:
            os.killpg(profiler.pid, signal.SIGTERM)
            try:
                profiler.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(profiler.pid, signal.SIGKILL)
        stop_servers(servers)
        for index, server in enumerate(servers):
            code = server.process.returncode
            if code == -signal.SIGKILL:
                print(f"daphne {index} did not stop within 5 s of SIGTERM; killed.")
            elif code not in (0, -signal.SIGTERM):
                log = server.log_path.read_text(errors="replace")[-2000:]
                print(f"daphne {index} exited with {code}:\n{log}", file=sys.stderr)
        if created_db and not args.keep_db:
            try:
                drop_database(args.admin_dsn, args.database)
            except psycopg.Error as error:
                print(f"Could not drop {args.database}: {error}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
