"""Joining under concurrency on PostgreSQL: the circle row is locked, so the last seat
goes to one newcomer only, and one user joining twice at once is one member."""

import threading

import pytest
from django.db import connection

from circles import services
from circles.models import Membership
from tests.accounts.factories import UserFactory
from tests.circles.factories import CircleFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RACERS = 6


def race(circle, users) -> list[str]:
    """Every user joins at the same moment; return each one's outcome."""
    start = threading.Barrier(len(users))
    outcomes = [""] * len(users)

    def join(index, user):
        start.wait()
        try:
            services.circle_join(invite_code=circle.invite_code, user=user)
            outcomes[index] = "joined"
        except services.CircleRefused as refused:
            outcomes[index] = refused.code
        finally:
            connection.close()

    threads = [threading.Thread(target=join, args=pair) for pair in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_the_last_seat_goes_to_one_newcomer(on_postgres):
    circle = CircleFactory(max_members=2)
    outcomes = race(circle, [UserFactory() for _ in range(RACERS)])
    assert sorted(outcomes) == ["circle_full"] * (RACERS - 1) + ["joined"]
    assert circle.memberships.count() == 2


def test_one_user_joining_twice_at_once_is_one_member(on_postgres):
    circle = CircleFactory(max_members=10)
    user = UserFactory()
    outcomes = race(circle, [user, user])
    assert outcomes == ["joined", "joined"]
    assert Membership.objects.filter(circle=circle, user=user).count() == 1
