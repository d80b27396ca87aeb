"""Reads: a user's API tokens."""

from accounts.models import ApiToken


def api_tokens(*, user) -> list[ApiToken]:
    """The user's tokens, newest first, revoked ones included (they show as revoked)."""
    return list(ApiToken.objects.filter(user=user))
