"""The result card of link previews: /poll/<code>/card.png, 1200x630, never leaking numbers."""

import io
import re

import pytest
from PIL import Image, ImageDraw

from polls import services
from polls.models import Poll
from polls.sharing import card
from tests.polls.factories import PollFactory
from tests.polls.test_share import vote

pytestmark = pytest.mark.django_db


def card_texts(poll) -> list[str]:
    """Every piece of text the card draws for this poll now."""
    return [
        item.text for item in card.layout(card.card_content(poll)) if isinstance(item, card.Text)
    ]


def get_card(client, poll):
    response = client.get(f"/poll/{poll.code}/card.png")
    assert response.status_code == 200
    return response


@pytest.fixture
def no_refresh_window(monkeypatch):
    """Every request looks at the poll afresh (it still redraws only on a change)."""
    monkeypatch.setattr(card, "REFRESH_SECONDS", 0)


def test_card_is_a_1200_by_630_png_with_cache_headers(client, poll):
    response = get_card(client, poll)
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size) == ("PNG", (1200, 630))
    assert f"max-age={card.REFRESH_SECONDS}" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    assert not response.cookies, "a publicly cached answer carries no cookie"
    again = client.get(f"/poll/{poll.code}/card.png", headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304


def test_visible_card_shows_question_bars_percentages_total_and_mark(poll):
    vote(poll, "Green")
    vote(poll, "Green")
    vote(poll, "Red")
    texts = card_texts(poll)
    assert texts[0] == poll.question
    for line in ("Red", "33.3%", "Green", "66.7%", "Blue", "0.0%", "3 votes", "Tally"):
        assert line in texts
    content = card.card_content(poll)
    assert [row.leading for row in content.rows] == [False, True, False]


@pytest.mark.parametrize(
    "visibility", [Poll.ResultsVisibility.AFTER_CLOSE, Poll.ResultsVisibility.AFTER_VOTE]
)
def test_hidden_results_card_has_options_and_no_number(client, visibility, no_refresh_window):
    """What the card draws for a hidden-results poll holds no digit at all, its image and
    ETag do not move as votes arrive, and it differs from the same poll's public card."""
    poll = PollFactory(question="Which colour wins?", results_visibility=visibility)
    before = get_card(client, poll)
    vote(poll, "Green")
    vote(poll, "Red")
    texts = card_texts(poll)
    assert {"Red", "Green", "Blue", "Tally"} <= set(texts)
    assert not [line for line in texts if re.search(r"\d", line)]
    assert all(row.percentage is None for row in card.card_content(poll).rows)
    after = get_card(client, poll)
    assert after["ETag"] == before["ETag"]
    assert after.content == before.content

    services.poll_reveal(poll=poll, revealed=True)
    revealed = get_card(client, poll)
    assert revealed["ETag"] != after["ETag"]
    assert revealed.content != after.content
    assert "50.0%" in card_texts(poll)


def test_card_of_a_closed_poll_shows_its_final_numbers():
    poll = PollFactory(results_visibility=Poll.ResultsVisibility.AFTER_CLOSE)
    vote(poll, "Blue")
    services.poll_close(poll=poll)
    poll.refresh_from_db()
    texts = card_texts(poll)
    assert "100.0%" in texts
    assert "Final · 1 vote" in texts


def test_long_question_is_wrapped_and_shrunk_to_fit():
    question = "How should the neighbourhood association spend " + "the shared budget " * 12
    lines, size = card.fit_question(question, card.WIDTH - 2 * card.PADDING)
    assert len(lines) <= card.QUESTION_MAX_LINES
    assert size == card.QUESTION_SIZES[-1]
    assert lines[-1].endswith("…")
    for line in lines:
        assert card.text_width(line, size, bold=True) <= card.WIDTH - 2 * card.PADDING
    short_lines, short_size = card.fit_question("Tabs or spaces?", card.WIDTH - 2 * card.PADDING)
    assert (short_lines, short_size) == (["Tabs or spaces?"], card.QUESTION_SIZES[0])


def glyph(font, character: str) -> bytes:
    image = Image.new("L", (80, 80))
    ImageDraw.Draw(image).text((10, 10), character, font=font, fill=255)
    return image.tobytes()


def test_card_font_is_a_truetype_font_covering_accents_and_other_scripts():
    """Each character draws as its own glyph, not as the font's empty box."""
    for bold in (False, True):
        font = card.font(40, bold)
        assert font.path.endswith((".ttf", ".otf"))
        missing = glyph(font, "\U000f0000")
        for character in "éçøŁŽЖжЯλΩשאع":
            assert glyph(font, character) != missing, character


def test_votes_in_a_burst_redraw_the_card_once_per_window(client, poll, monkeypatch, capsys):
    """Ten votes, each followed by a preview fetch, inside one refresh window: one drawing."""
    drawn = []
    real_draw = card.draw_card
    monkeypatch.setattr(
        card, "draw_card", lambda content: drawn.append(content) or real_draw(content)
    )
    first = get_card(client, poll)
    for _ in range(10):
        vote(poll, "Red")
        assert get_card(client, poll).content == first.content
    with capsys.disabled():
        print(f"\ncard drawings for 10 votes and 11 fetches in one window: {len(drawn)}")
    assert len(drawn) == 1

    monkeypatch.setattr(card, "REFRESH_SECONDS", 0)
    fresh = get_card(client, poll)
    assert fresh["ETag"] != first["ETag"]
    assert "100.0%" in card_texts(poll)
    assert len(drawn) == 2
    get_card(client, poll)
    assert len(drawn) == 2, "an unchanged card is not drawn again"


def test_a_vote_never_draws_the_card(voter, poll, monkeypatch):
    """Drawing happens on a preview's GET only: the vote path does not wait on it."""

    def refuse(content):
        raise AssertionError("drawn on the vote path")

    monkeypatch.setattr(card, "draw_card", refuse)
    vote(poll, "Red")


def test_card_and_qr_answer_head_requests(client, poll):
    """Some link unfurlers ask with HEAD before they fetch the image."""
    for route in ("card.png", "qr.png"):
        response = client.head(f"/poll/{poll.code}/{route}")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
