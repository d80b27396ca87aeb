"""Serve Tally with several daphne processes on one port: the production layout.

Each process gets a listening socket of its own, all bound to the same address with
SO_REUSEPORT, so the kernel spreads new connections evenly over them (one socket shared
by every process lets whichever wakes first accept a whole burst). A process serves its
WebSockets itself; pushes reach every process through Redis (polls.fanout).

    python manage.py serve --processes 2 --host 0.0.0.0 --port 8000 [--backlog 4096]

The open-file limit is raised to its hard limit first (each socket is a file); SIGTERM or
SIGINT stops every process, and so does the end of any one of them.
"""

import os
import resource
import signal
import socket
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

STOP_TIMEOUT = 10


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def raise_open_files_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Command(BaseCommand):
    help = "Serve HTTP and WebSockets with several daphne processes sharing one port."

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=2, help="one per core (2)")
        parser.add_argument("--host", default="127.0.0.1", help="address (127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--backlog", type=int, default=4096, help="each socket's accept queue (4096)"
        )
        parser.add_argument("--application", default="config.asgi:application")

    def handle(self, *args, **options):
        if options["processes"] > 1 and not settings.REDIS_URL:
            raise CommandError(
                "Several processes share pushes, viewer counts and rate limits through Redis: "
                "set REDIS_URL (or serve one process)."
            )
        files = raise_open_files_limit()
        daphne = Path(sys.executable).with_name("daphne")
        sockets = [
            listening_socket(options["host"], options["port"], options["backlog"])
            for _ in range(options["processes"])
        ]
        processes = [
            subprocess.Popen(  # noqa: S603 (our own daphne, with the operator's options)
                [str(daphne), "--fd", str(sock.fileno()), options["application"]],
                pass_fds=(sock.fileno(),),
            )
            for sock in sockets
        ]
        for sock in sockets:
            sock.close()  # the processes hold them now
        self.stdout.write(
            f"{len(processes)} daphne processes on {options['host']}:{options['port']} "
            f"(pids {', '.join(str(p.pid) for p in processes)}; open files up to {files} each)"
        )

        def stop(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        try:
            os.wait()  # until one process ends: then all stop, for the supervisor to restart
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
