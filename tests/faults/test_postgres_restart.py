"""PostgreSQL restarted under load: requests answer 503 "try again" meanwhile, never 500,
and the site recovers by itself within 10 s of the database returning."""

import asyncio
import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.faults.load import Answer, vote_steadily
from tests.server import BASE_DIR, run_daphne

pytestmark = [pytest.mark.postgres]

RATE = 20  # votes a second
BEFORE, DOWN, AFTER = 3.0, 4.0, 12.0
RECOVERY = 10.0


def migrate(database_url: str) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
    }
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )


async def test_postgres_restart_answers_503_then_recovers(
    private_postgres, private_redis, tmp_path, capsys
):
    """Votes during a restart get 503 (or wait), none 500; within 10 s of the database
    returning every vote is accepted again, and every 201 was counted."""
    await asyncio.to_thread(migrate, private_postgres.url)
    env = {
        "DATABASE_URL": private_postgres.url,
        "REDIS_URL": private_redis.url,
        "DATABASE_POOL_TIMEOUT": "3",
    }
    with run_daphne(log_dir=tmp_path, env=env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            csrf = (await client.get("/")).cookies["csrftoken"]
            created = await client.post(
                "/create",
                json={"question": "Does Tally survive a restart?", "options": ["Yes", "No"]},
                headers={"X-CSRFToken": csrf, "Cookie": f"csrftoken={csrf}"},
            )
            assert created.status_code == 201, created.text
            code = created.json()["code"]
            results = (await client.get(f"/poll/{code}/results")).json()
            option_id = results["options"][0]["id"]

            log: list[Answer] = []
            load = asyncio.create_task(
                vote_steadily(
                    client, code, option_id, csrf, rate=RATE, seconds=BEFORE + DOWN + AFTER, log=log
                )
            )
            await asyncio.sleep(BEFORE)
            await asyncio.to_thread(private_postgres.stop, "fast")
            stopped_at = time.monotonic()
            await asyncio.sleep(DOWN)
            await asyncio.to_thread(private_postgres.start)
            back_at = time.monotonic()
            await load
            final = (await client.get(f"/poll/{code}/results")).json()

    statuses = sorted({status for *_, status in log})
    accepted_after = [end for started, end, status in log if started >= back_at and status == 201]
    recovered_at = min(accepted_after) if accepted_after else float("inf")
    # Every vote sent once the site had recovered must succeed.
    after = [status for started, _, status in log if started >= recovered_at]
    errors_after = sum(1 for status in after if status != 201)
    during = [status for started, _, status in log if stopped_at <= started < back_at]
    accepted = sum(1 for *_, status in log if status == 201)
    with capsys.disabled():
        print(
            f"\n[postgres restart] {len(log)} votes at {RATE}/s, database down "
            f"{back_at - stopped_at:.1f} s: statuses {statuses}, "
            f"{during.count(503)} answered 503 while down, recovered "
            f"{recovered_at - back_at:.1f} s after it returned, {errors_after} errors after "
            f"recovery, {accepted} accepted = {final['total_votes']} counted"
        )
    assert 500 not in statuses
    assert set(statuses) <= {201, 503}
    assert 503 in during
    assert recovered_at - back_at <= RECOVERY
    assert errors_after == 0
    assert final["total_votes"] == accepted
