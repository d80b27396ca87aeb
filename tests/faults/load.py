"""A steady stream of votes for fault tests, each from a new browser, every answer logged."""

import asyncio
import time
from typing import NamedTuple

import httpx
from django.conf import settings

from core.voters import new_voter_token


class Answer(NamedTuple):
    started: float
    finished: float
    status: int  # 0: no answer (the connection failed)

    @property
    def seconds(self) -> float:
        return self.finished - self.started


async def vote_steadily(
    client: httpx.AsyncClient,
    code: str,
    option_id: int,
    csrf: str,
    *,
    rate: float,
    seconds: float,
    log: list[Answer],
) -> None:
    """Send `rate` votes a second for `seconds`, without waiting for answers in between."""

    async def one() -> None:
        cookie = f"csrftoken={csrf}; {settings.VOTER_COOKIE_NAME}={new_voter_token()}"
        started = time.monotonic()
        try:
            response = await client.post(
                f"/poll/{code}/vote",
                json={"option": option_id},
                headers={"X-CSRFToken": csrf, "Cookie": cookie},
            )
            status = response.status_code
        except httpx.TransportError:
            status = 0
        log.append(Answer(started, time.monotonic(), status))

    start = time.monotonic()
    tasks = []
    for index in range(int(seconds * rate)):
        await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
