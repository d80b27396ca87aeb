import pytest

from tests.accounts.factories import UserFactory
from tests.circles.factories import CircleFactory, circle_poll, member_of


@pytest.fixture
def admin(db):
    return UserFactory(username="ada")


@pytest.fixture
def circle(admin):
    return CircleFactory(name="Reading group", user=admin)


@pytest.fixture
def member(circle):
    return member_of(circle, UserFactory(username="bo"))


@pytest.fixture
def outsider(db):
    return UserFactory(username="cy")


@pytest.fixture
def private_poll(circle, admin):
    return circle_poll(circle, admin, question="Which secret book next?")
