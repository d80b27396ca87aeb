"""Celery tasks of core: the retention purge. Idempotent: running twice deletes nothing more."""

from celery import shared_task

from core import retention


@shared_task(ignore_result=True)
def purge_expired() -> None:
    retention.purge_expired()
