"""Celery tasks of the bell: emails and the periodic vote digest. Each only calls services."""

import logging

from celery import shared_task

from notifications import services, verification

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def send_notification_email(notification_id: int) -> None:
    services.notification_email_send(notification_id=notification_id)


@shared_task(ignore_result=True)
def flush_vote_batches() -> None:
    if flushed := services.vote_batches_flush_due():
        logger.info("Told %s owner(s) of new votes", flushed)


@shared_task(ignore_result=True)
def send_held_emails() -> None:
    if sent := services.held_emails_send():
        logger.info("Sent %s held email(s)", sent)


@shared_task(ignore_result=True)
def send_verification_email(user_id: int, site_url: str) -> None:
    verification.verification_email_send(user_id=user_id, site_url=site_url)
