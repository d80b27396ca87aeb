"""Summarise a py-spy profile of a daphne process by layer.

    .venv/bin/python bench/votes.py --processes 1 --profile /tmp/tally.txt
    .venv/bin/python bench/profile_summary.py /tmp/tally.txt [--votes N]

Reads py-spy's collapsed stacks ("raw" format: frames joined by ';', then a sample count)
and prints where the CPU samples fall: by thread (event loop vs sync worker threads), by
layer of the innermost frame that belongs to a known layer ("self" view), and by layer
anywhere on the stack ("inclusive" view). With --votes (accepted votes during the
profile) it also turns shares into milliseconds of CPU per vote.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

# Innermost match wins in the self view; order matters only for the inclusive view's labels.
LAYERS = [
    ("PostgreSQL driver (psycopg, pool)", ("psycopg/", "psycopg_pool/")),
    ("Django ORM / SQL compiler", ("django/db/",)),
    ("templates", ("django/template/", "template_partials/")),
    ("CSRF middleware", ("django/middleware/csrf.py",)),
    ("sessions / auth", ("django/contrib/sessions/", "django/contrib/auth/")),
    (
        "other middleware",
        (
            "django/middleware/",
            "whitenoise/",
            "django_htmx/",
            "core/middleware.py",
            "django/utils/deprecation.py",
            "django/contrib/messages/",
        ),
    ),
    ("URL resolving", ("django/urls/",)),
    ("forms / validation", ("django/forms/", "polls/forms.py")),
    ("Tally views / services / selectors", ("polls/", "core/")),
    ("live push / channel layer / redis", ("channels/", "channels_redis/", "redis/", "msgpack")),
    ("Django request/response (handlers, http)", ("django/core/handlers/", "django/http/")),
    ("Django other (signals, settings, utils)", ("django/",)),
    ("asgiref sync<->async, threads", ("asgiref/", "threading.py", "concurrent/futures/")),
    ("daphne / twisted HTTP server", ("daphne/", "twisted/", "autobahn/")),
    ("asyncio event loop", ("asyncio/", "selectors.py")),
]


def layer_of(frame: str) -> str | None:
    for name, markers in LAYERS:
        if any(marker in frame for marker in markers):
            return name
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path, help="py-spy --format raw output")
    parser.add_argument("--votes", type=int, help="votes accepted while profiling")
    parser.add_argument("--seconds", type=float, default=None, help="profile duration")
    parser.add_argument("--rate", type=float, default=200.0, help="py-spy samples/s (200)")
    args = parser.parse_args(argv)

    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in args.profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = stack.split(";")
        total += samples
        threads["event loop thread" if "daphne" in frames[0] else "sync worker threads"] += samples
        for frame in reversed(frames):
            name = layer_of(frame)
            if name:
                self_counts[name] += samples
                break
        else:
            self_counts["other (stdlib, json, hashing, ...)"] += samples
        for name in {layer_of(frame) for frame in frames} - {None}:
            inclusive[name] += samples
    if not total:
        print("no samples")
        return 1

    seconds_cpu = total / args.rate
    per_vote = (seconds_cpu * 1000 / args.votes) if args.votes else None

    def row(name, count):
        share = count / total * 100
        extra = f"  {per_vote * count / total:6.2f} ms/vote" if per_vote else ""
        return f"  {share:5.1f}%{extra}  {name}"

    print(f"{total} samples ({seconds_cpu:.1f} CPU-seconds at {args.rate:.0f} Hz)")
    if per_vote:
        print(f"CPU per accepted vote in this process: {per_vote:.2f} ms")
    print("By thread:")
    for name, count in threads.most_common():
        print(row(name, count))
    print("Self (innermost known layer):")
    for name, count in self_counts.most_common():
        print(row(name, count))
    print("Inclusive (layer anywhere on the stack):")
    for name, count in inclusive.most_common():
        print(row(name, count))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
