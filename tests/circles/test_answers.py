"""Answers to "ask this poll" draw on that poll only: a circle poll's text and comments
never reach the answer to another poll's question, however alike their words."""

import pytest

from chat import services as chat_services
from chat.ask.retrieval import embed_question, poll_facts, rank_snippets
from core.voters import Voter
from polls import services as poll_services
from tests.circles.factories import circle_poll
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db

SECRET = "The secret lighthouse manuscript is the best read of the year"


def commented(poll, comment: str):
    poll_services.vote_cast(
        poll=poll,
        voter=Voter(token="t" * 40, ip="127.0.0.1"),
        option_ids=[poll.options.first().pk],
        comment=comment,
    )
    chat_services.poll_snippets_sync(poll_id=poll.pk)
    return poll


def test_another_polls_answer_never_quotes_a_circle_poll(circle, admin):
    private = commented(
        circle_poll(circle, admin, question="Which lighthouse manuscript next?"), SECRET
    )
    public = commented(PollFactory(question="Which book next?"), "A thick novel for winter")
    question = "What do people say about the lighthouse manuscript?"
    facts, candidates = poll_facts(
        poll_id=public.pk, voter=Voter(token="", ip=""), question=question
    )
    texts = [candidate.text for candidate in candidates] + list(facts.all_comments.values())
    ranked = rank_snippets(poll_id=public.pk, vector=embed_question(question), question=question)
    texts += [source.text for source in ranked]
    assert texts
    assert not any("lighthouse" in text for text in texts)
    assert private.pk != facts.poll_id
