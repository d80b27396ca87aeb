"""Writes: creating accounts."""

from django.contrib.auth import get_user_model
from django.db import transaction


def user_create(*, username: str, password: str, email: str = ""):
    """Create an account with a hashed password."""
    with transaction.atomic():
        return get_user_model().objects.create_user(
            username=username, email=email, password=password
        )
