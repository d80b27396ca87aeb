"""Accounts built through the same service sign-up uses."""

import factory
from django.contrib.auth import get_user_model

from accounts import services

PASSWORD = "a long passphrase 42"


class UserFactory(factory.Factory):
    """Build a user whose password is PASSWORD via user_create."""

    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = PASSWORD

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.user_create(**kwargs)

    _build = _create
