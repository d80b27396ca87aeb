"""The check of a model's answer after generation: numbers that disagree with the tally and
quotes that are not verbatim are corrected or removed, and the final frame replaces the
streamed text with the checked one, marked "corrected"."""

import html
import re

import pytest
from channels.db import database_sync_to_async

from chat.ask.check import check_answer
from chat.ask.retrieval import poll_facts
from core.voters import Voter, new_voter_token
from tests.chat.groq_stub import Behaviour
from tests.chat.test_ask import COMMENTED, answer_text, ask_and_wait, make_poll

pytestmark = [pytest.mark.django_db(transaction=True)]

CORRECTED = re.compile(
    r'<div hx-swap-oob="innerHTML:#answer-body"><span data-corrected>(.*?)</span>'
)


@pytest.fixture(autouse=True)
def _embed_in_caller(settings):
    settings.EMBED_IN_BACKGROUND = False


def facts_of(poll):
    return poll_facts(poll_id=poll.pk, voter=Voter(token=new_voter_token(), ip=""))[0]


async def test_a_wrong_number_and_an_invented_quote_come_out_corrected(groq):
    """The model says Blue has 7 votes (90%) and quotes a comment no one wrote: the final
    frame holds the tally's numbers, keeps the real quote, drops the invented one and says
    "corrected"."""
    groq.behaviour = Behaviour(
        tokens=[
            "Blue leads with 7 votes (90.0% of ballots).",
            " One voter wrote “Blue is the colour of honesty and deep calm seas.”",
            " Another said “Blue is calm and easy on the eyes.”",
            " Red has 1 vote.",
        ]
    )
    poll = await make_poll(votes=COMMENTED)

    frames = await ask_and_wait(poll, "Why do people like blue?")

    assert "7 votes" in answer_text(frames)  # it streamed as the model wrote it
    final = frames[-1]
    match = CORRECTED.search(final)
    assert match, final
    checked = html.unescape(match.group(1))
    assert checked == (
        "Blue leads with 2 votes (50.0% of ballots). "
        "Another said “Blue is calm and easy on the eyes.” Red has 1 vote."
    )
    assert ">corrected</span>" in final
    assert 'data-state="answered"' in final


async def test_an_answer_that_holds_up_is_left_as_streamed(groq):
    """Numbers from the tally and verbatim quotes need no correction, and none is shown."""
    groq.behaviour = Behaviour(
        tokens=["Blue leads with 2 votes (50.0%).", " “Red feels energetic.” says one voter."]
    )
    poll = await make_poll(votes=COMMENTED)

    frames = await ask_and_wait(poll, "Who leads?")

    assert not CORRECTED.search(frames[-1])
    assert "corrected" not in frames[-1]
    assert (
        answer_text(frames)
        == "Blue leads with 2 votes (50.0%). “Red feels energetic.” says one voter."
    )


async def test_near_quotes_become_verbatim_and_hidden_numbers_go():
    """A quote nearly copied is replaced by the comment itself; with results hidden from the
    asker, a sentence with a vote count goes, the number of ballots may stay."""
    from polls.models import Poll

    poll = await make_poll(votes=COMMENTED)
    facts = await database_sync_to_async(facts_of)(poll)

    near = check_answer("A voter said “The sea and sky are blue, that is why.”", facts)
    assert near.corrected
    assert near.text == "A voter said “The sea and the sky are blue, that's why.”"

    hidden = await make_poll(votes=COMMENTED, results_visibility=Poll.ResultsVisibility.AFTER_VOTE)
    facts = await database_sync_to_async(facts_of)(hidden)
    checked = check_answer("Blue has 2 votes. There are 4 ballots so far. Red is bold.", facts)
    assert checked.corrected
    assert checked.text == "There are 4 ballots so far. Red is bold."
