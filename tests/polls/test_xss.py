"""User text with markup renders inert (escaped) everywhere Tally shows it."""

import re

import pytest

from polls.models import Poll
from tests.helpers import post_form, post_htmx, post_json
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "'><svg/onload=alert(1)>",
    "</textarea><script>alert(2)</script>",
    "{{ 7|add:7 }}{% now 'Y' %}",
]
# Markup a payload would inject if it were rendered unescaped.
INJECTED = re.compile(
    r"<script>alert|<img src=x|<svg/onload|href=\"javascript:|src=\"javascript:|"
    r"onerror=alert\(1\)>|</textarea><script"
)


def assert_inert(html: str, payload: str) -> None:
    """The payload is nowhere as live markup; where shown it is escaped text."""
    assert not INJECTED.search(html), INJECTED.search(html).group(0)
    if "<" in payload:
        assert payload not in html


@pytest.fixture
def evil_poll(voter):
    """A poll whose question, description, options and a comment each carry a payload."""
    response = post_json(
        voter,
        "/create",
        {
            "question": f"Q {PAYLOADS[0]} {PAYLOADS[1]}",
            "description": " ".join(PAYLOADS),
            "options": PAYLOADS[:5],
        },
    )
    assert response.status_code == 201
    poll = Poll.objects.get(code=response.json()["code"])
    first = poll.options.first()
    comment = f"{PAYLOADS[1]} {PAYLOADS[4]}"
    vote = post_json(voter, f"/poll/{poll.code}/vote", {"option": first.id, "comment": comment})
    assert vote.status_code == 201
    return poll


def test_poll_page_escapes_user_text(voter, evil_poll):
    """On the poll page the question, description, options and comments are escaped."""
    html = voter.get(f"/poll/{evil_poll.code}").content.decode()
    for payload in PAYLOADS:
        assert_inert(html, payload)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    # Template syntax in user text is shown as typed, never evaluated.
    assert "{{ 7|add:7 }}{% now &#x27;Y&#x27; %}" in html


def test_poll_page_for_a_new_voter_escapes_the_option_labels(other_voter, evil_poll):
    """The vote form a new voter sees shows each option label escaped."""
    html = other_voter.get(f"/poll/{evil_poll.code}").content.decode()
    assert 'name="option"' in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2
    assert_inert(html, PAYLOADS[0])


def test_share_page_escapes_the_question(voter, evil_poll):
    """The share page shows the question escaped, in its heading and title."""
    html = voter.get(f"/poll/{evil_poll.code}/share").content.decode()
    assert_inert(html, PAYLOADS[0])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_home_page_list_escapes_questions(voter, evil_poll):
    """The home page's recent polls list shows questions escaped."""
    html = voter.get("/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert_inert(html, PAYLOADS[0])


def test_search_results_and_query_are_escaped(voter, evil_poll):
    """Search results and the echoed query are escaped, for the page and the htmx fragment."""
    query = "alert(1)</script> <script>alert(1)</script>"
    page = voter.get("/search", {"q": "script"}).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert_inert(page, PAYLOADS[0])
    echoed = voter.get("/search", {"q": query}).content.decode()
    assert query not in echoed
    assert_inert(echoed, query)
    fragment = voter.get("/search", {"q": "onerror"}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in fragment.content.decode()
    assert_inert(fragment.content.decode(), PAYLOADS[1])


def test_htmx_tally_fragment_escapes_option_text(voter, evil_poll):
    """The tally fragment polled by htmx shows option texts escaped."""
    fragment = voter.get(f"/poll/{evil_poll.code}", headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert html.lstrip().startswith('<section id="tally"')
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for payload in PAYLOADS[:5]:
        assert_inert(html, payload)


def test_htmx_vote_fragment_escapes_option_text_and_your_vote(other_voter, evil_poll):
    """The vote panel fragment escapes the results and "You voted for …"."""
    option = evil_poll.options.get(position=1)
    response = post_htmx(other_voter, f"/poll/{evil_poll.code}/vote", {"option": option.id})
    html = response.content.decode()
    assert response.status_code == 200
    assert "You voted for <strong>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</strong>" in html
    for payload in PAYLOADS[:5]:
        assert_inert(html, payload)


def test_vote_error_echoing_the_sent_value_is_escaped(other_voter, evil_poll):
    """A refused option value that is echoed in the error message is escaped."""
    url = f"/poll/{evil_poll.code}/vote"
    for send in (post_htmx, post_form):
        response = send(other_voter, url, {"option": PAYLOADS[0]})
        assert response.status_code == 400
        assert_inert(response.content.decode(), PAYLOADS[0])


def test_create_form_errors_escape_the_typed_values(voter):
    """When a create is refused, the re-shown form escapes what was typed and the error."""
    body = {"question": PAYLOADS[1], "description": PAYLOADS[4], "options": [PAYLOADS[0]] * 2}
    for send in (post_htmx, post_form):
        response = send(voter, "/create", body)
        assert response.status_code == 400
        html = response.content.decode()
        for payload in (PAYLOADS[0], PAYLOADS[1], PAYLOADS[4]):
            assert_inert(html, payload)
        assert "listed twice" in html


def test_json_results_keep_text_as_data(voter, evil_poll):
    """The results JSON returns user text unchanged, as data, with a JSON content type."""
    response = voter.get(f"/poll/{evil_poll.code}/results")
    assert response["Content-Type"] == "application/json"
    assert response.json()["options"][0]["text"] == PAYLOADS[0]


def test_poll_made_by_the_service_renders_inert(client):
    """A poll made through the service layer with markup renders inert too."""
    poll = PollFactory(question=PAYLOADS[2], options=[PAYLOADS[0], PAYLOADS[3]])
    html = client.get(f"/poll/{poll.code}").content.decode()
    for payload in (PAYLOADS[0], PAYLOADS[3]):
        assert_inert(html, payload)
    assert 'href="javascript:' not in html
