"""A form sent with an out-of-date CSRF token gets Tally's own page that keeps what was typed."""

import re

import pytest

from polls import selectors
from tests.accounts.factories import PASSWORD
from tests.helpers import text
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db


def visible_text(page: str) -> str:
    """The words a reader sees: markup, scripts and attribute values left out."""
    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


def fresh_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def test_a_vote_with_a_stale_token_is_kept_and_sent_again_in_one_click(voter, user):
    """After a log-in in another tab, the vote comes back checked with its comment, and one
    click with the page's fresh token counts it."""
    poll = PollFactory(options=["Red", "Green"])
    green = poll.options.get(text="Green")
    stale = voter.csrf_token
    voter.post(
        "/accounts/login/",
        {"username": user.username, "password": PASSWORD, "csrfmiddlewaretoken": stale},
    )
    assert voter.cookies["csrftoken"].value != stale  # logging in renews the token

    response = voter.post(
        f"/poll/{poll.code}/vote",
        {"option": str(green.pk), "comment": "Green is calm", "csrfmiddlewaretoken": stale},
    )

    page = text(response)
    assert response.status_code == 403
    assert "csrf" not in visible_text(page).lower()
    assert f'value="{green.pk}" checked' in page
    assert "Green is calm</textarea>" in page
    assert selectors.poll_tally(poll=poll).total_votes == 0

    again = voter.post(
        f"/poll/{poll.code}/vote",
        {
            "option": str(green.pk),
            "comment": "Green is calm",
            "csrfmiddlewaretoken": fresh_token(page),
        },
    )
    assert again.status_code == 303
    tally = selectors.poll_tally(poll=poll)
    assert (tally.total_votes, tally.options[1].votes) == (1, 1)


def test_an_htmx_vote_with_a_stale_token_gets_the_kept_form_as_a_fragment(voter):
    """An htmx vote refused for its token swaps in the vote panel with the choice kept."""
    poll = PollFactory(options=["Red", "Green"])
    red = poll.options.get(text="Red")

    response = voter.post(
        f"/poll/{poll.code}/vote",
        {"option": str(red.pk)},
        headers={"X-CSRFToken": "x" * 32, "HX-Request": "true"},
    )

    page = text(response)
    assert response.status_code == 403
    assert page.lstrip().startswith('<div id="vote-panel"')
    assert f'value="{red.pk}" checked' in page
    assert "csrf" not in visible_text(page).lower()


def test_any_other_form_with_a_stale_token_gets_a_send_again_page(voter):
    """A create form refused for its token is kept as hidden fields behind "Send again"."""
    response = voter.post(
        "/create",
        {"question": "Tea or coffee?", "options": ["Tea", "Coffee"], "csrfmiddlewaretoken": "bad"},
    )

    page = text(response)
    assert response.status_code == 403
    assert "Send again" in page
    assert 'name="question" value="Tea or coffee?"' in page
    assert "csrf" not in visible_text(page).lower()


def test_a_login_with_a_stale_token_never_echoes_the_password(client, user):
    """A refused log-in links back to the form and keeps no password in the page."""
    client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/",
        {"username": user.username, "password": PASSWORD, "csrfmiddlewaretoken": "bad"},
    )

    page = text(response)
    assert response.status_code == 403
    assert PASSWORD not in page
    assert "Go back to the form" in page
