"""Writes: creating accounts, and their personal API tokens."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.models import TOKEN_PREFIX, ApiToken

# A token's last use is written at most this often: a busy program must not turn every
# request into a write.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def user_create(*, username: str, password: str, email: str = ""):
    """Create an account with a hashed password."""
    with transaction.atomic():
        return get_user_model().objects.create_user(
            username=username, email=email, password=password
        )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def api_token_create(
    *, user, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a named token; return it with its secret, which is never stored or shown again."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        token_hash=token_hash(secret),
        hint=secret[: len(TOKEN_PREFIX) + 4],
        expires_at=expires_at,
    )
    return token, secret


def api_token_revoke(*, user, token_id: int) -> bool:
    """Revoke one of the user's tokens; False if it is not theirs or already revoked."""
    return bool(
        ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def api_token_authenticate(*, secret: str) -> ApiToken | None:
    """The active token with this secret (its last use noted), or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=token_hash(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or token.is_expired() or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
