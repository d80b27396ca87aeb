"""`make run`'s server (runserver on config.settings.local, no environment set) shows
Tally's own error pages, not Django's debug pages, and still serves the static files."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from tests.server import free_port

MANAGE = Path(settings.BASE_DIR) / "manage.py"
START = 60.0  # s: a loaded machine starts Django slowly


@pytest.fixture
def run_server(tmp_path):
    """manage.py runserver as `make run` starts it, on a fresh SQLite file of its own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'run.sqlite3'}",
        PERIODIC_TASKS_IN_PROCESS="false",
    )
    python = sys.executable
    subprocess.run(
        [python, str(MANAGE), "migrate", "--noinput"], env=env, check=True, capture_output=True
    )
    port = free_port()
    log = (tmp_path / "runserver.log").open("wb")
    process = subprocess.Popen(
        [python, str(MANAGE), "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=settings.BASE_DIR,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START
    try:
        while True:
            try:
                httpx.get(f"{url}/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, (tmp_path / "runserver.log").read_text()
                assert time.monotonic() < deadline, "runserver did not start"
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def test_the_run_command_shows_tallys_404_page_and_serves_static_files(run_server):
    for path in ("/poll/nosuchpoll", "/no/such/page"):
        response = httpx.get(f"{run_server}{path}", timeout=30)
        assert response.status_code == 404
        assert "find that poll or page" in response.text
        assert "URLconf" not in response.text  # Django's debug page lists the URL patterns
        assert "DEBUG = True" not in response.text

    css = httpx.get(f"{run_server}/static/css/tally.css", timeout=30)
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    home = httpx.get(f"{run_server}/", timeout=30)
    assert home.status_code == 200
    assert "/static/css/tally.css" in home.text
