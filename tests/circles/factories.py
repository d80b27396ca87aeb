"""Circles built through the same services the site uses."""

import factory

from circles import services
from circles.models import Circle
from tests.accounts.factories import UserFactory
from tests.polls.factories import PollFactory


class CircleFactory(factory.Factory):
    """Build a circle via circle_create; its admin is `user` (a new user by default)."""

    class Meta:
        model = Circle

    name = factory.Sequence(lambda n: f"Book club {n}")
    description = "We read and we vote."
    max_members = 50
    invite_expires_at = None
    user = factory.LazyFunction(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.circle_create(**kwargs)

    _build = _create


def member_of(circle: Circle, user=None):
    """A user who joined the circle by its invite (a new user by default)."""
    user = user or UserFactory()
    services.circle_join(invite_code=circle.invite_code, user=user)
    return user


def circle_poll(circle: Circle, owner, **fields):
    """A poll of the circle, as its member `owner` creates it."""
    return PollFactory(circle=circle, owner=owner, listed=False, **fields)
