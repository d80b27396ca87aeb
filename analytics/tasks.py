from celery import shared_task

from analytics import services


@shared_task(ignore_result=True)
def write_opens(rows: list) -> None:
    """Store one batch of opens handed on by a web process."""
    services.opens_write(rows=rows)
