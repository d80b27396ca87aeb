"""Moderators find circle polls in the admin: a column naming the circle and a filter."""

from django.contrib.auth import get_user_model

from tests.helpers import open_browser, text
from tests.polls.factories import PollFactory


def test_moderators_filter_polls_by_whether_they_are_in_a_circle(private_poll):
    PollFactory(question="Which public pizza topping?")
    staff = get_user_model().objects.create_superuser(
        username="moderator", email="mod@example.com", password="a long passphrase 42"
    )
    browser = open_browser(staff)

    in_circles = text(browser.get("/admin/polls/poll/?circle__isempty=0"))
    public = text(browser.get("/admin/polls/poll/?circle__isempty=1"))
    by_name = text(browser.get("/admin/polls/poll/?q=Reading+group"))

    assert "Which secret book next?" in in_circles
    assert "Reading group" in in_circles
    assert "pizza" not in in_circles
    assert "pizza" in public
    assert "secret book" not in public
    assert "Which secret book next?" in by_name
    assert "pizza" not in by_name
