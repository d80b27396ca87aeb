"""Celery tasks of polls: closing them at their close time. Each only calls services."""

from celery import shared_task

from polls import services


@shared_task(ignore_result=True)
def close_due_polls() -> None:
    services.polls_close_due()
