"""Live fan-out benchmark: K WebSocket clients on one poll while votes stream in.

    .venv/bin/python bench/fanout.py [--clients 1000] [--votes 2000] [--rate 200]
        [--processes 1] [--idle 5000] [--client-procs 1] [--settings MODULE]

It starts Tally's production stack on loopback the way bench/votes.py does (its own
PostgreSQL database, N daphne processes sharing one SO_REUSEPORT port, Redis DB 11), then:

1. idle sockets: measures one server process's RSS, opens --idle WebSockets to that process
   and measures again (bytes per idle connection);
2. fan-out: opens --clients WebSockets on one poll (spread by the kernel over the processes),
   streams --votes votes at --rate per second from distinct voters, and records, at every
   client, each frame's arrival time, its data-version and the total it shows;
3. prints push latency (vote accepted -> frame at the client), pushes per second, the share of
   clients that end at the final tally, CPU of every party, and checks the final total.

The clients are a lean asyncio WebSocket client (handshake and frame parsing by hand, no
compression) in --client-procs processes, so that the client side is not the bottleneck;
their CPU is printed. Everything started is stopped on the way out, whatever happens.
See bench/README.md ("Fan-out") for what the figures mean.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import multiprocessing
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from argparse import Namespace
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
import votes as stack

from core.management.commands.serve import raise_open_files_limit

PROJECT_DIR = stack.PROJECT_DIR
VERSION_MARK = b'data-version="'
TOTAL_MARK = b'<span class="tabular-nums font-semibold text-slate-700">'
HIDDEN_TOTAL_MARK = b'<span class="tabular-nums">'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000, help="WebSocket clients (1000)")
    parser.add_argument("--votes", type=int, default=2000, help="votes to stream (2000)")
    parser.add_argument("--rate", type=float, default=200.0, help="votes per second (200)")
    parser.add_argument("--processes", type=int, default=1, help="daphne processes (1)")
    parser.add_argument(
        "--idle", type=int, default=5000, help="idle sockets held by server 0 (5000; 0 skips)"
    )
    parser.add_argument(
        "--client-procs", type=int, default=1, help="client processes for the sockets (1)"
    )
    parser.add_argument(
        "--vote-connections", type=int, default=32, help="keep-alive connections for votes (32)"
    )
    parser.add_argument(
        "--batch", type=int, default=100, help="handshakes in flight per client process (100)"
    )
    parser.add_argument(
        "--settings",
        default="config.settings.production",
        help="DJANGO_SETTINGS_MODULE (config.settings.production; "
        "bench.settings_core_layer for the channels-redis core layer)",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="votes through Django's view stack (FAST_VOTE=false), not the fast route",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the servers, repeatable (e.g. FAST_VOTE=true)",
    )
    parser.add_argument(
        "--settle", type=float, default=20.0, help="max seconds to wait for the final tally (20)"
    )
    parser.add_argument("--options", type=int, default=4, help="options on the poll (4)")
    parser.add_argument("--database", default="tally_fanout", help="database to (re)create")
    parser.add_argument(
        "--admin-dsn",
        default=os.environ.get("BENCH_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument(
        "--db-url-base",
        default=os.environ.get("BENCH_DB_URL_BASE", "postgres://postgres@127.0.0.1:5432"),
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_FANOUT_REDIS_URL", "redis://127.0.0.1:6379/11"),
        help="Redis for the servers; this database is flushed before and after (DB 11)",
    )
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="py-spy record daphne process 0 while the votes stream (.txt: collapsed stacks "
        "for bench/profile_summary.py, .json: speedscope, else flame graph SVG)",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database after")
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the daphne logs (path printed)"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if min(args.clients, args.votes, args.processes, args.client_procs, args.batch) < 1:
        parser.error("--clients, --votes, --processes, --client-procs, --batch must be positive")
    if args.rate <= 0:
        parser.error("--rate must be positive")
    return args


def now_us() -> int:
    return time.time_ns() // 1000


# The lean WebSocket client (runs in the client processes)


def _int_after(data: bytes, mark: bytes, end: bytes) -> int:
    start = data.find(mark)
    if start < 0:
        return -1
    start += len(mark)
    stop = data.find(end, start)
    try:
        return int(data[start:stop])
    except ValueError:
        return -1


class WsClient(asyncio.Protocol):
    """One WebSocket: hand-made handshake, unmasked server frames, pong to pings."""

    __slots__ = ("buf", "frames", "index", "open", "opened", "request", "transport", "worker")

    def __init__(self, worker: Worker, index: int, request: bytes):
        self.worker = worker
        self.index = index
        self.request = request
        self.opened = asyncio.get_running_loop().create_future()
        self.transport = None
        self.buf = bytearray()
        self.open = False
        self.frames = 0

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        arrival = now_us()
        self.buf += data
        if not self.open:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status_line = bytes(self.buf[: self.buf.find(b"\r\n")])
            if b" 101 " not in status_line + b" ":
                if not self.opened.done():
                    self.opened.set_exception(ConnectionError(status_line.decode(errors="replace")))
                self.transport.close()
                return
            self.open = True
            del self.buf[: end + 4]
            if not self.opened.done():
                self.opened.set_result(True)
        buf = self.buf
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, header = b1 & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, header = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, header = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if size - pos < header + length:
                break
            payload = bytes(buf[pos + header : pos + header + length])
            pos += header + length
            opcode = b0 & 0x0F
            if opcode in (0x1, 0x2, 0x0):
                self.frames += 1
                self.worker.on_frame(self, arrival, payload)
            elif opcode == 0x9:  # ping: answer with a (zero-)masked pong
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            elif opcode == 0x8:
                self.transport.write(b"\x88\x80\0\0\0\0")
                self.transport.close()
        del buf[:pos]

    def connection_lost(self, exc):
        self.open = False
        self.worker.lost += 1
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before the handshake"))

    def close(self):
        if self.transport is not None and not self.transport.is_closing():
            if self.open:
                self.transport.write(b"\x88\x82\0\0\0\0\x03\xe8")  # close, 1000
            self.transport.close()


class Worker:
    def __init__(self, record: bool):
        self.record = record
        self.records: list[tuple[int, int, int, int]] = []
        self.last_total: dict[int, int] = {}
        self.frames = 0
        self.lost = 0

    def on_frame(self, client: WsClient, arrival: int, payload: bytes) -> None:
        self.frames += 1
        if not self.record:
            return
        if VERSION_MARK not in payload:
            return  # a viewer-count fragment: it carries no tally
        version = _int_after(payload, VERSION_MARK, b'"')
        total = _int_after(payload, TOTAL_MARK, b"<")
        if total < 0:
            total = _int_after(payload, HIDDEN_TOTAL_MARK, b"<")
        self.last_total[client.index] = total
        self.records.append((client.index, arrival, version, total))


async def _worker(conn, port: int, code: str, first: int, count: int, batch: int, record: bool):
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue = asyncio.Queue()
    loop.add_reader(conn.fileno(), lambda: commands.put_nowait(conn.recv()))
    worker = Worker(record)
    clients: list[WsClient] = []
    errors: dict[str, int] = {}
    semaphore = asyncio.Semaphore(batch)
    request_head = (
        f"GET /ws/poll/{code}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: http://127.0.0.1:{port}\r\n"
    )

    async def open_one(index: int) -> None:
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        request = f"{request_head}Sec-WebSocket-Key: {key}\r\n\r\n".encode()
        async with semaphore:
            try:
                _, client = await asyncio.wait_for(
                    loop.create_connection(
                        lambda: WsClient(worker, index, request), "127.0.0.1", port
                    ),
                    30,
                )
                clients.append(client)
                await asyncio.wait_for(asyncio.shield(client.opened), 30)
            except (TimeoutError, OSError, ConnectionError) as error:
                name = type(error).__name__ + (f": {error}" if str(error) else "")
                errors[name[:120]] = errors.get(name[:120], 0) + 1

    started = time.monotonic()
    await asyncio.gather(*(open_one(first + i) for i in range(count)))
    opened = sum(1 for c in clients if c.open)
    conn.send(("opened", opened, errors, time.monotonic() - started))
    while True:
        command = await commands.get()
        if command[0] == "status":
            final = command[1]
            open_now = sum(1 for c in clients if c.open)
            at_final = sum(1 for total in worker.last_total.values() if total == final)
            conn.send(("status", open_now, at_final, worker.frames))
        elif command[0] == "collect":
            conn.send(
                (
                    "records",
                    worker.records,
                    {c.index: c.frames for c in clients},
                    sum(1 for c in clients if c.open),
                )
            )
        elif command[0] == "close":
            for client in clients:
                client.close()
            await asyncio.sleep(0.2)
            conn.send(("closed",))
            return


def client_process(conn, port, code, first, count, batch, record) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    raise_open_files_limit()
    asyncio.run(_worker(conn, port, code, first, count, batch, record))


class ClientPool:
    """Sockets spread over client processes; every command waits for all to answer."""

    def __init__(self, procs: int, port: int, code: str, total: int, batch: int, record: bool):
        context = multiprocessing.get_context("spawn")
        self.workers = []
        per = math.ceil(total / procs)
        for first in range(0, total, per):
            parent, child = context.Pipe()
            process = context.Process(
                target=client_process,
                args=(child, port, code, first, min(per, total - first), batch, record),
                daemon=True,
            )
            process.start()
            child.close()
            self.workers.append((process, parent))

    def pids(self) -> list[int]:
        return [process.pid for process, _ in self.workers]

    def ask(self, command: tuple, timeout: float) -> list[tuple]:
        for _, conn in self.workers:
            conn.send(command)
        return self.wait(timeout)

    def wait(self, timeout: float) -> list[tuple]:
        deadline = time.monotonic() + timeout
        answers = []
        for process, conn in self.workers:
            if not conn.poll(max(0.0, deadline - time.monotonic())):
                raise RuntimeError(f"client process {process.pid} did not answer in time")
            answers.append(conn.recv())
        return answers

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.ask(("close",), 20)
        for process, conn in self.workers:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)
            conn.close()


# The vote streamer (open loop at a fixed rate, lean HTTP/1.1 keep-alive client)


async def stream_votes(args, port: int, code: str, csrf: str, option_ids: list[int]) -> dict:
    prefix = "".join(secrets.choice(stack.ALNUM) for _ in range(16))
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(args.vote_connections):
        pool.put_nowait(None)  # a slot; the connection is opened on first use
    results: list[tuple[int, int, int, int]] = []  # (index, sent_us, answered_us, status)
    errors: dict[str, int] = {}
    late = 0

    async def send(index: int, slot) -> None:
        body = json.dumps({"option": option_ids[index % len(option_ids)]}).encode()
        voter = f"{prefix}{index:024d}"
        head = (
            f"POST /poll/{code}/vote HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
            f"X-CSRFToken: {csrf}\r\nCookie: tally_voter={voter}; csrftoken={csrf}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        sent = now_us()
        try:
            if slot is None:
                slot = await asyncio.open_connection("127.0.0.1", port)
            reader, writer = slot
            writer.write(head + body)
            header = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
            lines = header.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            fields = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
            await reader.readexactly(int(fields.get("content-length", "0")))
            results.append((index, sent, now_us(), status))
            if fields.get("connection", "").lower() == "close":
                writer.close()
                slot = None
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as error:
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
            results.append((index, sent, now_us(), 0))
            if slot is not None:
                slot[1].close()
            slot = None
        pool.put_nowait(slot)

    tasks = []
    start = time.monotonic()
    for index in range(args.votes):
        delay = start + index / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        slot = await pool.get()
        if time.monotonic() - (start + index / args.rate) > 0.05:
            late += 1
        tasks.append(asyncio.create_task(send(index, slot)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        slot = pool.get_nowait()
        if slot is not None:
            slot[1].close()
    return {"results": results, "errors": errors, "late": late}


# Analysis


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    rank = min(len(values) - 1, max(0, math.ceil(p / 100 * len(values)) - 1))
    return values[rank]


def ms(us: float) -> str:
    return "n/a" if us != us else f"{us / 1000:,.1f} ms"


def dist(values: list[float]) -> dict:
    return {
        "count": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) if values else float("nan"),
    }


def show(d: dict) -> str:
    return (
        f"p50 {ms(d['p50'])}  p95 {ms(d['p95'])}  p99 {ms(d['p99'])}  max {ms(d['max'])}"
        f"  (n={d['count']:,})"
    )


def analyse(clients: int, votes: dict, records: list, final_total: int) -> dict:
    accepted = sorted(answered for _, _, answered, status in votes["results"] if status == 201)
    sent = [s for _, s, _, _ in votes["results"]]
    first_sent, last_accept = min(sent), (accepted[-1] if accepted else min(sent))
    frame_latency, read_delay, deliver_delay = [], [], []
    unmatched = out_of_order = 0
    by_client: dict[int, list[tuple[int, int, int]]] = {}
    for client, arrival, version, total in records:
        by_client.setdefault(client, []).append((arrival, version, total))
    for frames in by_client.values():
        frames.sort()
    regressions = 0
    for frames in by_client.values():
        last_version = shown_total = 0
        for arrival, version, total in frames:
            if arrival >= first_sent:
                out_of_order += version < last_version
                regressions += total < shown_total
            last_version = max(last_version, version)
            shown_total = max(shown_total, total)
            if total < 1 or arrival < first_sent:
                continue
            if total > len(accepted):
                unmatched += 1
                continue
            accept = accepted[total - 1]
            frame_latency.append(arrival - accept)
            read_delay.append(version - accept)
            deliver_delay.append(arrival - version)
    # For each accepted vote (by rank), the moment the last client showed a total >= rank.
    everywhere = [0] * (len(accepted) + 1)
    reached_final = []
    for frames in by_client.values():
        shown = 0
        for arrival, _, total in frames:
            total = min(total, len(accepted))
            if total > shown:
                for rank in range(shown + 1, total + 1):
                    if arrival > everywhere[rank]:
                        everywhere[rank] = arrival
                shown = total
        final_at = next((a for a, _, t in frames if t == final_total), None)
        reached_final.append(final_at)
    unseen_votes = sum(1 for rank in range(1, len(accepted) + 1) if everywhere[rank] == 0)
    vote_everywhere = [
        everywhere[rank] - accepted[rank - 1]
        for rank in range(1, len(accepted) + 1)
        if everywhere[rank]
    ]
    at_final = sum(1 for frames in by_client.values() if frames and frames[-1][2] == final_total)
    window_s = max(1e-6, (last_accept - first_sent) / 1e6)
    in_window = [
        (client, version)
        for client, arrival, version, _ in records
        if first_sent <= arrival <= last_accept
    ]
    per_client: dict[int, int] = {}
    for client, _ in in_window:
        per_client[client] = per_client.get(client, 0) + 1
    counts = [per_client.get(c, 0) / window_s for c in by_client] or [0.0]
    all_final = bool(reached_final) and all(x is not None for x in reached_final)
    return {
        "accepted": len(accepted),
        "window_s": window_s,
        "accepted_per_s": len(accepted) / window_s,
        "frame_latency": dist(frame_latency),
        "accept_to_state_read": dist(read_delay),
        "state_read_to_arrival": dist(deliver_delay),
        "negative_frame_latencies": sum(1 for x in frame_latency if x < 0),
        "vote_to_every_client": dist(vote_everywhere),
        "votes_never_seen_by_some_client": unseen_votes,
        "last_vote_to_all_final_us": (
            max(reached_final) - last_accept if all_final else float("nan")
        ),
        "clients_reporting": len(by_client),
        "clients_at_final": at_final,
        "share_at_final": at_final / clients,
        "pushes_per_s_per_client": {
            "mean": sum(counts) / len(counts),
            "max": max(counts),
        },
        # What one page of the poll sees (each process reads a push's state itself, so the
        # distinct versions over all processes are N per push).
        "pushes_per_s_per_poll": max(counts),
        "states_read_per_s": len({v for _, v in in_window}) / window_s,
        "frames_unmatched": unmatched,
        "frames_out_of_order": out_of_order,
        "frames_total_went_back": regressions,
        "frames": len(records),
    }


# Stack


def server_connections(pid: int, port: int) -> int:
    try:
        return sum(
            1
            for c in psutil.Process(pid).net_connections(kind="tcp")
            if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port
        )
    except psutil.Error:
        return -1


def wait_quiet(pids: list[int], limit: float = 60.0, threshold: float = 15.0) -> float:
    """Wait until every server process uses under threshold % CPU over half a second."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        before = [stack.process_cpu_seconds(pid) for pid in pids]
        time.sleep(0.5)
        busy = max(
            (stack.process_cpu_seconds(pid) - b) / 0.5 * 100
            for pid, b in zip(pids, before, strict=False)
        )
        if busy < threshold:
            break
    return time.monotonic() - start


def cpu_of(pids: list[int]) -> list[float]:
    return [stack.process_cpu_seconds(pid) for pid in pids]


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


def idle_phase(args, servers, code: str) -> dict:
    server = servers[0]
    pid = server.process.pid
    wait_quiet([s.process.pid for s in servers])
    rss_before = psutil.Process(pid).memory_info().rss
    fds_before = psutil.Process(pid).num_fds()
    print(f"Opening {args.idle:,} idle sockets to daphne 0 (pid {pid}) ...", flush=True)
    pool = ClientPool(args.client_procs, server.health_port, code, args.idle, args.batch, False)
    try:
        answers = pool.wait(600)
        opened = sum(a[1] for a in answers)
        errors: dict[str, int] = {}
        for a in answers:
            for k, v in a[2].items():
                errors[k] = errors.get(k, 0) + v
        ramp = max(a[3] for a in answers)
        settle = wait_quiet([pid])
        time.sleep(1)
        process = psutil.Process(pid)
        rss_after = process.memory_info().rss
        fds_after = process.num_fds()
        held = server_connections(pid, server.health_port)
        still_open = sum(a[1] for a in pool.ask(("status", -1), 60))
    finally:
        pool.stop()
    return {
        "requested": args.idle,
        "opened": opened,
        "errors": errors,
        "ramp_s": ramp,
        "settle_s": settle,
        "held_by_server": held,
        "still_open_at_client": still_open,
        "rss_before": rss_before,
        "rss_after": rss_after,
        "fds_before": fds_before,
        "fds_after": fds_after,
        "bytes_per_connection": (rss_after - rss_before) / max(1, opened),
    }


def fanout_phase(args, servers, port, code, csrf, option_ids) -> dict:
    pids = [s.process.pid for s in servers]
    wait_quiet(pids)
    print(f"Opening {args.clients:,} WebSocket clients on poll {code} ...", flush=True)
    pool = ClientPool(args.client_procs, port, code, args.clients, args.batch, True)
    profiler = None
    try:
        answers = pool.wait(600)
        opened = sum(a[1] for a in answers)
        errors: dict[str, int] = {}
        for a in answers:
            for k, v in a[2].items():
                errors[k] = errors.get(k, 0) + v
        ramp = max(a[3] for a in answers)
        print(
            f"  {opened:,} open in {ramp:.1f} s"
            + (f", failures {errors}" if errors else "")
            + "; waiting for the servers to settle ...",
            flush=True,
        )
        wait_quiet(pids)
        spread = [server_connections(s.process.pid, port) for s in servers]
        client_pids = pool.pids()
        load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"Load average {load_before}. Streaming {args.votes:,} votes at {args.rate:g}/s ...",
            flush=True,
        )
        if args.profile:
            profiler = stack.start_profiler(
                Namespace(profile=args.profile), pids[0], math.ceil(args.votes / args.rate) + 2
            )
        server_cpu0, client_cpu0 = cpu_of(pids), cpu_of(client_pids)
        self_cpu0, machine0, wall0 = time.process_time(), stack.machine_cpu_seconds(), time.time()
        votes = asyncio.run(stream_votes(args, port, code, csrf, option_ids))
        wall = time.time() - wall0
        server_cpu = [(b - a) / wall * 100 for a, b in zip(server_cpu0, cpu_of(pids), strict=False)]
        client_cpu = [
            (b - a) / wall * 100 for a, b in zip(client_cpu0, cpu_of(client_pids), strict=False)
        ]
        streamer_cpu = (time.process_time() - self_cpu0) / wall * 100
        machine_cpu = (stack.machine_cpu_seconds() - machine0) / wall * 100
        final_total = stack.poll_results(port, code)["total_votes"]
        deadline = time.monotonic() + args.settle
        while True:
            status = pool.ask(("status", final_total), 30)
            at_final = sum(s[2] for s in status)
            if at_final >= opened or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        time.sleep(0.5)  # any frame still on its way
        collected = pool.ask(("collect",), 120)
        if profiler is not None:
            try:
                _, err = profiler.communicate(timeout=60)
                print(
                    f"Profile written to {args.profile}"
                    if not profiler.returncode
                    else f"py-spy failed: {err.decode(errors='replace')[-500:]}",
                    flush=True,
                )
            except subprocess.TimeoutExpired:
                print("py-spy did not finish in time", flush=True)
    finally:
        if profiler is not None and profiler.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(profiler.pid, signal.SIGKILL)
            profiler.wait(5)
        pool.stop()
    records = [r for c in collected for r in c[1]]
    statuses: dict[int, int] = {}
    for _, _, _, status in votes["results"]:
        statuses[status] = statuses.get(status, 0) + 1
    vote_latency = [answered - sent for _, sent, answered, status in votes["results"]]
    figures = analyse(args.clients, votes, records, final_total)
    figures.update(
        opened=opened,
        open_errors=errors,
        ramp_s=ramp,
        spread=spread,
        load_before=load_before,
        final_total=final_total,
        statuses=statuses,
        vote_errors=votes["errors"],
        votes_sent_late=votes["late"],
        vote_latency=dist(vote_latency),
        still_open=sum(c[3] for c in collected),
        cpu_percent={
            "daphne": server_cpu,
            "clients": client_cpu,
            "vote_streamer": streamer_cpu,
            "machine": machine_cpu,
        },
    )
    return figures


def report(args, fan: dict | None, idle: dict | None, nofile: int) -> None:
    print()
    print(
        f"Tally fan-out benchmark: {args.processes} daphne process(es), {args.settings}, "
        f"{args.client_procs} client process(es), {os.cpu_count()} CPUs, "
        f"app {stack.app_version()}, RLIMIT_NOFILE {nofile}"
        + (f", server env {' '.join(args.server_env)}" if args.server_env else "")
    )
    if fan:
        cpu = fan["cpu_percent"]
        print(f"  load average before votes   {fan['load_before']}")
        print(
            f"  clients open                {fan['opened']:,}/{args.clients:,} "
            f"(ramp {fan['ramp_s']:.1f} s; per server {fan['spread']}; "
            f"still open at end {fan['still_open']:,})"
            + (f"  failures {fan['open_errors']}" if fan["open_errors"] else "")
        )
        print(
            f"  votes                       {fan['accepted']:,} accepted of {args.votes:,} "
            f"at {fan['accepted_per_s']:.0f}/s over {fan['window_s']:.1f} s "
            f"(asked {args.rate:g}/s; sent late {fan['votes_sent_late']}); "
            f"statuses {fan['statuses']}"
            + (f"  errors {fan['vote_errors']}" if fan["vote_errors"] else "")
        )
        print(f"  vote request latency        {show(fan['vote_latency'])}")
        print(f"  accept -> frame at client   {show(fan['frame_latency'])}")
        print(f"    accept -> state read      {show(fan['accept_to_state_read'])}")
        print(f"    state read -> arrival     {show(fan['state_read_to_arrival'])}")
        print(f"  vote -> shown at every client {show(fan['vote_to_every_client'])}")
        print(
            f"  last vote -> all at final   {ms(fan['last_vote_to_all_final_us'])}"
            f"  (final total {fan['final_total']:,} from /results)"
        )
        print(
            f"  clients ending at final     {fan['clients_at_final']:,}/{args.clients:,} "
            f"({fan['share_at_final']:.1%})"
        )
        print(
            f"  pushes/s per client         mean {fan['pushes_per_s_per_client']['mean']:.1f}"
            f"  max {fan['pushes_per_s_per_client']['max']:.1f}"
            f"   states read/s (all processes) {fan['states_read_per_s']:.1f}"
        )
        print(
            f"  frames                      {fan['frames']:,}  (negative latency "
            f"{fan['negative_frame_latencies']:,}, total above accepted "
            f"{fan['frames_unmatched']}, older than previous {fan['frames_out_of_order']}, "
            f"total lower than shown before {fan['frames_total_went_back']})"
        )
        print(
            "  CPU while voting            "
            + "  ".join(f"daphne{i} {c:.0f}%" for i, c in enumerate(cpu["daphne"]))
            + "  clients "
            + "+".join(f"{c:.0f}" for c in cpu["clients"])
            + f"%  vote streamer {cpu['vote_streamer']:.0f}%"
            + f"  machine {cpu['machine']:.0f}% of {os.cpu_count() * 100}%"
        )
        target = (
            fan["frame_latency"]["p95"] < 250_000
            and fan["pushes_per_s_per_poll"] <= 10.5
            and fan["clients_at_final"] == args.clients
        )
        print(
            "  target (p95 < 250 ms, <= 10 pushes/s, 100% at final): "
            + ("met" if target else "not met")
        )
    if idle:
        print(
            f"  idle sockets on daphne 0    {idle['opened']:,}/{idle['requested']:,} opened "
            f"in {idle['ramp_s']:.1f} s, {idle['held_by_server']:,} established at the server, "
            f"{idle['still_open_at_client']:,} still open after settling"
            + (f"  failures {idle['errors']}" if idle["errors"] else "")
        )
        print(
            f"  server RSS                  {idle['rss_before'] / 2**20:,.1f} MiB -> "
            f"{idle['rss_after'] / 2**20:,.1f} MiB: "
            f"{idle['bytes_per_connection'] / 1024:,.1f} KiB per idle connection "
            f"(fds {idle['fds_before']:,} -> {idle['fds_after']:,})"
        )
        if args.idle >= 5000:
            ok = min(idle["held_by_server"], idle["still_open_at_client"]) >= 5000
            print(f"  target (>= 5,000 idle sockets on one process): {'met' if ok else 'not met'}")


def main(argv=None) -> int:
    args = parse_args(argv)
    nofile = raise_open_files_limit()  # inherited by the servers and the client processes

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    ns = Namespace(
        processes=args.processes,
        listen="reuseport",
        access_log=False,
        app="config.asgi:application",
        plain=args.plain,
        database=args.database,
        db_url_base=args.db_url_base,
        redis_url=args.redis_url,
    )
    env = stack.server_env(ns)
    env["DJANGO_SETTINGS_MODULE"] = args.settings
    env.update(item.split("=", 1) for item in args.server_env)
    servers: list = []
    created_db = False
    workdir = Path(tempfile.mkdtemp(prefix="tally-fanout-"))
    fan = idle = None
    try:
        flush_redis(args.redis_url)
        print(f"Recreating database {args.database} and migrating ...", flush=True)
        stack.recreate_database(args.admin_dsn, args.database)
        created_db = True
        stack.migrate(env)
        port = stack.start_servers(ns, env, workdir, servers)
        print(
            f"Started {len(servers)} daphne process(es) on 127.0.0.1:{port} "
            f"(pids {', '.join(str(s.process.pid) for s in servers)}); waiting for /health ...",
            flush=True,
        )
        stack.wait_healthy(servers)
        csrf, _ = stack.csrf_token(port)
        warm_code, warm_options = stack.create_poll(port, csrf, "Warm-up poll", args.options)
        idle_code, _ = stack.create_poll(port, csrf, "Idle poll", args.options)
        code, option_ids = stack.create_poll(port, csrf, "Fan-out poll", args.options)
        for server in servers:  # warm each process: votes and a few sockets
            for _ in range(10):
                status, _, raw = stack.request(
                    server.health_port,
                    "POST",
                    f"/poll/{warm_code}/vote",
                    body=json.dumps({"option": warm_options[0]}),
                    headers=stack.json_headers(csrf, stack.voter_prefix() * 5),
                )
                if status != 201:
                    raise RuntimeError(f"warm-up vote answered {status}: {raw[:300]!r}")
            pool = ClientPool(1, server.health_port, warm_code, 20, 20, False)
            try:
                if pool.wait(60)[0][1] != 20:
                    raise RuntimeError("warm-up sockets did not all open")
            finally:
                pool.stop()
        if args.idle:
            idle = idle_phase(args, servers, idle_code)
        fan = fanout_phase(args, servers, port, code, csrf, option_ids)
        report(args, fan, idle, nofile)
        stack.print_server_warnings(servers)
        if args.json:
            Path(args.json).write_text(
                json.dumps({"args": vars(args), "fanout": fan, "idle": idle}, indent=2)
            )
        return 0 if fan["clients_at_final"] == args.clients else 1
    except KeyboardInterrupt:
        print("Interrupted; cleaning up.", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop_servers(servers)
        for index, server in enumerate(servers):
            rc = server.process.returncode
            if rc == -signal.SIGKILL:
                print(f"daphne {index} did not stop within 5 s of SIGTERM; killed.")
            elif rc not in (0, -signal.SIGTERM):
                log = server.log_path.read_text(errors="replace")[-2000:]
                print(f"daphne {index} exited with {rc}:\n{log}", file=sys.stderr)
        if created_db and not args.keep_db:
            try:
                stack.drop_database(args.admin_dsn, args.database)
            except Exception as error:
                print(f"Could not drop {args.database}: {error}", file=sys.stderr)
        with contextlib.suppress(Exception):
            flush_redis(args.redis_url)
        if args.keep_logs:
            print(f"daphne logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
