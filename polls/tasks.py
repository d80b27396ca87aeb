"""Celery tasks of polls: closing them at their close time. Each only calls services."""

import logging

from celery import shared_task

from polls import services

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def close_due_polls() -> None:
    if closed := services.polls_close_due():
        logger.info("Closed %s poll(s) at their close time", closed)
