"""Ask this poll, measured on the labelled evaluation set (tests/chat/eval): hybrid retrieval
finds the comments that answer paraphrased questions, and the local answers fit the question,
quote verbatim with the right option and state only the tally's numbers."""

import re

import pytest
from django.test import override_settings

from chat.ask.retrieval import (
    TOP_COMMENTS,
    PollFacts,
    embed_question,
    poll_facts,
    rank,
    with_sources,
)
from chat.ask.wording import Intent, local_answer, question_intent
from chat.models import Snippet
from core.voters import Voter, new_voter_token
from polls.models import Ballot, Poll
from tests.chat.eval.build import Built, build, build_all
from tests.chat.eval.dataset import POLLS

pytestmark = [pytest.mark.django_db]

QUOTE = re.compile(r"“([^”]*)”( \(voted ([^)]*)\))?")
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")


@pytest.fixture(scope="module")
def evaluation(django_db_setup, django_db_blocker):
    """The evaluation polls, built once for the module (embedding them takes a while) and
    read, never changed, by its tests; one more copy of one poll with hidden results."""
    with django_db_blocker.unblock(), override_settings(EMBED_IN_BACKGROUND=False):
        built = build_all()
        hidden = build(POLLS[1], results_visibility=Poll.ResultsVisibility.AFTER_VOTE)
    yield built, hidden
    with django_db_blocker.unblock():
        Poll.objects.filter(pk__in=[b.poll.pk for b in [*built, hidden]]).delete()


def a_visitor() -> Voter:
    return Voter(token=new_voter_token(), ip="")


def facts_for(poll: Poll, question: str, voter: Voter | None = None) -> PollFacts:
    """What the pipeline gathers for a question, in the same steps."""
    vector = embed_question(question)
    facts, candidates = poll_facts(poll_id=poll.pk, voter=voter or a_visitor(), question=question)
    return with_sources(facts, rank(candidates, vector, facts.lexical), question)


def cosine_only(poll: Poll, question: str) -> PollFacts:
    vector = embed_question(question)
    facts, candidates = poll_facts(poll_id=poll.pk, voter=a_visitor())
    return with_sources(facts, rank(candidates, vector))


def recall(found: list[int], wanted: set[int]) -> float:
    return len(wanted & set(found[:TOP_COMMENTS])) / len(wanted)


def tally_numbers(poll: Poll, *, visible: bool) -> set[str]:
    """Every figure an answer may state, worked out here from the ballots themselves."""
    ballots = Ballot.objects.filter(poll=poll)
    total = ballots.count()
    counts = {
        option.text: ballots.filter(choices__option=option).count() for option in poll.options.all()
    }
    comments = ballots.filter(comment_removed=False).exclude(comment="").count()
    stored = poll.themes.themes if hasattr(poll, "themes") else []
    allowed = {str(total), str(comments), str(len(stored))}
    allowed |= {str(theme["size"]) for theme in stored}
    if visible:
        allowed |= {str(count) for count in counts.values()}
        allowed |= {f"{count * 100 / total:.1f}" for count in counts.values()}
        allowed |= {str(abs(a - b)) for a in counts.values() for b in counts.values()}
        allowed |= {str(count) for theme in stored for count in theme["options"].values()}
    return allowed


def check_answer_facts(built: Built, text: str, *, visible: bool) -> list[str]:
    """Assert every quote is a stored comment of this poll (with its author's option) and
    every number the tally's; return the quoted texts."""
    comments = set(
        Ballot.objects.filter(poll=built.poll, comment_removed=False).values_list(
            "comment", flat=True
        )
    )
    by_text = {built.spec.comments[key][1]: built.spec.comments[key][0] for key in built.ballots}
    quoted = []
    for match in QUOTE.finditer(text):
        said, option = match.group(1), match.group(3)
        assert said in comments, f"not a comment of this poll: {said!r}"
        if option is not None:
            assert visible
            assert option == by_text[said], f"{said!r} was written by a voter of {by_text[said]}"
        quoted.append(said)
    allowed = tally_numbers(built.poll, visible=visible)
    for number in NUMBER.findall(QUOTE.sub("", text)):
        assert number in allowed, f"{number} is not the tally's in {text!r}"
    return quoted


def test_hybrid_retrieval_recall_at_5_on_paraphrased_questions(evaluation, capsys):
    """The comments that answer a paraphrased question are among the five quoted, ≥ 95 % of
    them, and no snippet of another poll is ever among those found."""
    built, _ = evaluation
    own = {
        b.poll.pk: set(Snippet.objects.filter(poll=b.poll).values_list("kind", "source_id"))
        for b in built
    }
    hybrid, cosine, foreign, questions = [], [], 0, 0
    for b in built:
        for question, keys in b.spec.questions:
            questions += 1
            wanted = {b.ballots[key] for key in keys}
            facts = facts_for(b.poll, question)
            hybrid.append(recall([source.source_id for source in facts.comments], wanted))
            foreign += sum(
                (source.kind, source.source_id) not in own[b.poll.pk] for source in facts.ranked
            )
            baseline = cosine_only(b.poll, question)  # for comparison only
            cosine.append(recall([source.source_id for source in baseline.comments], wanted))
            if hybrid[-1] < 1:
                print(f"missed: {question!r} -> {[s.text for s in facts.comments]}")
    figure = sum(hybrid) / len(hybrid)
    with capsys.disabled():
        print(
            f"\nask retrieval on {len(built)} polls, {questions} questions: "
            f"recall@5 hybrid {figure:.3f}, cosine alone {sum(cosine) / len(cosine):.3f}; "
            f"snippets from other polls: {foreign}"
        )
    assert len(built) >= 8
    assert questions >= 40
    assert all(len(b.spec.comments) >= 10 for b in built)
    assert foreign == 0
    assert figure >= 0.95


def test_local_answers_fit_the_question_quote_verbatim_and_count_from_the_tally(evaluation):
    """Winning and by how much, why X, objections to Y, how many, summarise: each answer
    fits its question, quotes stored comments with the option their author chose and
    states only the tally's numbers."""
    for b in evaluation[0]:
        spec = b.spec
        leader, second, third = spec.options
        typed = {
            "Which option is ahead, and by what margin?": Intent.LEAD,
            f"Why do people go for {third.lower()}?": Intent.WHY,
            f"What are the objections to {second}?": Intent.OBJECTIONS,
            f"How many people voted for {leader}?": Intent.COUNT,
            "Can you summarise what everyone said?": Intent.SUMMARY,
        }
        for question, intent in typed.items():
            facts = facts_for(b.poll, question)
            options = [option.text for option in facts.tally.options]
            assert question_intent(question, options)[0] == intent, question
            text = "".join(local_answer(facts, question))
            quoted = check_answer_facts(b, text, visible=True)
            assert "not AI-written" in text
            tally = {option.text: option for option in facts.tally.options}
            if intent == Intent.LEAD:
                gap = tally[leader].votes - tally[second].votes
                assert f"{leader} leads with {tally[leader].votes} votes" in text
                assert f"{leader} is ahead of {second} by {gap} vote" in text
            elif intent == Intent.WHY:
                assert quoted
                assert all(b.option_of[ballot_for(b, said)] == third for said in quoted)
            elif intent == Intent.OBJECTIONS:
                assert quoted
                assert all(b.option_of[ballot_for(b, said)] != second for said in quoted)
            elif intent == Intent.COUNT:
                assert f"{leader} has {tally[leader].votes} votes" in text
            else:
                assert f"fall into {len(facts.themes)} theme" in text
                assert len(quoted) == len(facts.themes)
        for question, _ in spec.questions:
            facts = facts_for(b.poll, question)
            check_answer_facts(b, "".join(local_answer(facts, question)), visible=True)


def ballot_for(built: Built, said: str) -> int:
    key = next(key for key, (_, text) in built.spec.comments.items() if text == said)
    return built.ballots[key]


def test_hidden_results_never_reach_the_answers_or_the_themes(evaluation):
    """On an "after voting" poll a visitor who has not voted gets no option counts in any
    answer nor in the themes, and no comment is tied to the option its author chose."""
    b = evaluation[1]
    questions = [
        "Who is winning and by how much?",
        "Why do people choose Rust?",
        "What are the objections to Go?",
        "How many people voted for Python?",
        "Summarise the comments",
        *(question for question, _ in b.spec.questions),
    ]
    for question in questions:
        facts = facts_for(b.poll, question)
        assert not facts.results_visible
        text = "".join(local_answer(facts, question))
        check_answer_facts(b, text, visible=False)
        assert "(voted" not in text
        assert "%" not in text
        assert all(theme.options is None for theme in facts.themes)
    assert facts.themes
    voter = a_visitor()
    vote_as(b.poll, voter, "Go")
    shown = facts_for(b.poll, "Summarise the comments", voter)
    assert shown.results_visible
    assert all(theme.options for theme in shown.themes)


def vote_as(poll: Poll, voter: Voter, option_text: str) -> None:
    from polls import services

    services.vote_cast(
        poll=poll, voter=voter, option_ids=[poll.options.get(text=option_text).id], comment=""
    )


def test_an_answer_never_draws_on_another_polls_comments(evaluation):
    """Asked another poll's questions, a poll answers from its own comments only."""
    first, second = evaluation[0][2], evaluation[0][3]
    for question, _ in second.spec.questions:
        facts = facts_for(first.poll, question)
        text = "".join(local_answer(facts, question))
        assert not any(comment in text for _, comment in second.spec.comments.values())
        assert {source.source_id for source in facts.comments} <= set(first.ballots.values())
