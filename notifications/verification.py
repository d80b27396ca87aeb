"""Proving an email address before Tally sends anything to it but a password reset.

Sign-up (and the "send the link again" button) emails a signed link; opening it records the
address as verified. The link names the user and the address, so it stops working when the
account's email changes, and after VERIFICATION_MAX_AGE.
"""

import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from notifications.services import preferences_for

logger = logging.getLogger(__name__)

SALT = "tally.email-verification"
VERIFICATION_MAX_AGE = timedelta(days=3)


def email_is_verified(user) -> bool:
    return preferences_for(user_id=user.pk).email_is_verified(user.email)


def verification_token(user) -> str:
    return signing.dumps({"user": user.pk, "email": user.email.casefold()}, salt=SALT)


def verification_email_queue(*, user, site_url: str) -> bool:
    """Email the user a link that proves their address, once the current transaction
    commits; False if there is no address to prove or it is proved already."""
    if not user.email or email_is_verified(user):
        return False
    from notifications import tasks  # tasks import the services

    transaction.on_commit(
        lambda: tasks.send_verification_email.delay(user.pk, site_url), robust=True
    )
    return True


def verification_email_send(*, user_id: int, site_url: str) -> bool:
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email or email_is_verified(user):
        return False
    link = site_url.rstrip("/") + reverse(
        "accounts:verify-email", kwargs={"token": verification_token(user)}
    )
    context = {"user": user, "link": link, "days": VERIFICATION_MAX_AGE.days}
    try:
        send_mail(
            subject="Confirm your email address for Tally",
            message=render_to_string("registration/verify_email.txt", context),
            from_email=None,
            recipient_list=[user.email],
        )
    except Exception:
        logger.exception("Could not send the verification email of user %s", user_id)
        return False
    return True


def email_verify(*, token: str):
    """Record the address a link proves; return its user, or None if the link is bad,
    expired, or for an address the account no longer has."""
    try:
        claim = signing.loads(token, salt=SALT, max_age=VERIFICATION_MAX_AGE)
    except signing.BadSignature:
        return None
    user = get_user_model().objects.filter(pk=claim.get("user"), is_active=True).first()
    if user is None or user.email.casefold() != claim.get("email"):
        return None
    preferences = preferences_for(user_id=user.pk)
    if not preferences.email_is_verified(user.email):
        preferences.verified_email = user.email
        preferences.email_verified_at = timezone.now()
        preferences.save(update_fields=["verified_email", "email_verified_at"])
    return user
