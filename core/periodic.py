"""Periodic work without Celery beat: the embedded default runs the beat schedule itself.

With a broker, `celery beat` reads CELERY_BEAT_SCHEDULE and a worker runs the tasks. With
none (tasks eager, in-process), the server starts one daemon thread that runs the same
schedule's tasks in-process, so polls still close on time and vote digests still go out.
"""

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connections
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

_started = threading.Lock()
_thread: threading.Thread | None = None


def schedule_intervals() -> dict[str, float]:
    """The beat schedule as task path → seconds between runs."""
    intervals = {}
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        every = entry["schedule"]
        intervals[entry["task"]] = (
            every.total_seconds() if isinstance(every, timedelta) else float(every)
        )
    return intervals


def run_due_tasks(next_runs: dict[str, float], intervals: dict[str, float], now: float) -> None:
    """Run each task whose time has come, in this thread, and book its next run."""
    for path, due in next_runs.items():
        if due > now:
            continue
        next_runs[path] = now + intervals[path]
        try:
            # Called, not applied: a run that did nothing writes no "task succeeded" line;
            # the tasks log what they did.
            import_string(path)()
        except Exception:
            logger.exception("Periodic task %s failed", path)
        finally:
            connections.close_all()  # this thread's connections only


def _run_forever(intervals: dict[str, float]) -> None:
    next_runs = dict.fromkeys(intervals, time.monotonic())
    while True:
        run_due_tasks(next_runs, intervals, time.monotonic())
        time.sleep(max(0.05, min(next_runs.values()) - time.monotonic()))


def start_in_process() -> bool:
    """Start the in-process scheduler once, if this process should run periodic work."""
    global _thread
    if not settings.PERIODIC_TASKS_IN_PROCESS or not settings.CELERY_TASK_ALWAYS_EAGER:
        return False
    with _started:
        if _thread is None:
            _thread = threading.Thread(
                target=_run_forever,
                args=(schedule_intervals(),),
                name="periodic-tasks",
                daemon=True,
            )
            _thread.start()
    return True
