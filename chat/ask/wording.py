"""Words about the numbers: tally_line, the one line of exact numbers that ends every answer,
and the answer built without a model (tally_in_words, local_answer) from the tally and the
comments when no GROQ_API_KEY is set. Hidden results are named as hidden, never counted.

The local answer fits the kind of question (question_intent): who is winning and by how
much, why people chose an option (quotes from its voters), the objections to one (quotes
from voters of the others), how many, a summary (the comment themes), or anything else
(the tally and the closest comment). Every number is the tally's or a count of stored
comments, every quote a comment's text as stored, with the option its author chose where
the asker may see results.
"""

from chat.ask.intent import COMMENTS, Intent, question_intent
from chat.ask.retrieval import PollFacts, Source
from chat.models import Snippet
from polls.models import Poll
from polls.selectors import OptionTally

QUOTES_PER_ANSWER = 3


def _votes(count: int) -> str:
    return f"{count} vote{'' if count == 1 else 's'}"


def hidden_reason(facts: PollFacts) -> str:
    if facts.results_visibility == Poll.ResultsVisibility.AFTER_VOTE:
        return "The results are hidden until you vote"
    return "The results are hidden until the poll closes"


def tally_line(facts: PollFacts) -> str:
    """One line with the tally's own numbers, as the answer's last word on them."""
    if not facts.results_visible:
        return f"{hidden_reason(facts)}; {_votes(facts.tally.total_votes)} so far."
    parts = [
        f"{option.text} {option.votes} ({option.percentage:.1f}%)" for option in facts.tally.options
    ]
    return " · ".join([*parts, f"{_votes(facts.tally.total_votes)} in total"])


def tally_in_words(facts: PollFacts) -> str:
    tally = facts.tally
    if not facts.results_visible:
        return f"{hidden_reason(facts)}, so there are no numbers to share yet."
    if tally.total_votes == 0:
        return "No one has voted yet, so there is nothing to compare."
    ranked = sorted(tally.options, key=lambda option: -option.votes)
    leaders = [option for option in ranked if option.votes == ranked[0].votes]
    ballots = f"{tally.total_votes} ballot{'' if tally.total_votes == 1 else 's'}"
    if len(leaders) > 1:
        names = ", ".join(option.text for option in leaders[:-1]) + f" and {leaders[-1].text}"
        lead = (
            f"{names} are tied with {_votes(leaders[0].votes)} each "
            f"({leaders[0].percentage:.1f}% of {ballots})."
        )
    else:
        leader = leaders[0]
        lead = (
            f"{leader.text} leads with {_votes(leader.votes)} "
            f"({leader.percentage:.1f}% of {ballots})."
        )
    others = [option for option in ranked if option not in leaders]
    if others:
        rest = "; ".join(
            f"{option.text} has {option.votes} ({option.percentage:.1f}%)" for option in others
        )
        lead += f" After that: {rest}."
    if facts.is_multiple:
        lead += " Voters could pick more than one option, so the shares add up to more than 100%."
    return lead


def quote(source: Source, *, with_option: bool) -> str:
    """A comment quoted verbatim, with the option its author chose where that may show."""
    said = f"“{source.text}”"
    if with_option and source.options:
        said += f" (voted {' and '.join(source.options)})"
    return said


def _ranked_comments(facts: PollFacts) -> list[Source]:
    return [source for source in facts.ranked if source.kind == Snippet.Kind.COMMENT]


def _quotes(sources: list[Source], facts: PollFacts) -> str:
    return "; ".join(
        quote(source, with_option=facts.results_visible) for source in sources[:QUOTES_PER_ANSWER]
    )


def _closest(facts: PollFacts) -> str:
    comments = _ranked_comments(facts)
    if not comments:
        return " No one has left a comment that speaks to this yet."
    return f" The comments closest to your question: {_quotes(comments, facts)}."


def _lead_answer(facts: PollFacts) -> str:
    text = tally_in_words(facts)
    ranked = sorted(facts.tally.options, key=lambda option: -option.votes)
    if facts.results_visible and facts.tally.total_votes and len(ranked) > 1:
        first, second = ranked[0], ranked[1]
        if first.votes > second.votes:
            gap = first.votes - second.votes
            text += (
                f" {first.text} is ahead of {second.text} by {_votes(gap)} "
                f"({first.percentage:.1f}% against {second.percentage:.1f}%)."
            )
    return text


def _count_answer(facts: PollFacts, question: str, option: OptionTally | None) -> str:
    tally = facts.tally
    if COMMENTS.search(question.casefold()):
        count = len(facts.all_comments)
        return f"{count} voter{'' if count == 1 else 's'} left a comment that anyone can read."
    ballots = f"{tally.total_votes} ballot{'' if tally.total_votes == 1 else 's'}"
    if not facts.results_visible:
        return f"{ballots} so far. {tally_in_words(facts)}"
    if option is not None:
        return f"{option.text} has {_votes(option.votes)} ({option.percentage:.1f}% of {ballots})."
    rest = "; ".join(f"{o.text} {o.votes} ({o.percentage:.1f}%)" for o in tally.options)
    return f"{ballots} have been cast: {rest}."


def _why_answer(facts: PollFacts, option: OptionTally | None) -> str:
    if (cannot := _cannot_match_voters(facts, option)) is not None:
        return cannot
    voters = [source for source in _ranked_comments(facts) if option.text in source.options]
    standing = f"{option.text} has {_votes(option.votes)} ({option.percentage:.1f}%)."
    if not voters:
        return f"{standing} None of its voters left a comment explaining why."
    return f"{standing} Its voters say: {_quotes(voters, facts)}."


def _cannot_match_voters(facts: PollFacts, option: OptionTally | None) -> str | None:
    """The answer when a question about one option's voters cannot be answered: no
    option named, or results hidden from the asker (authors' choices would reveal them)."""
    if option is None:
        return tally_in_words(facts) + _closest(facts)
    if not facts.results_visible:
        return (
            f"{hidden_reason(facts)}, so comments cannot be matched to the options their "
            "authors chose." + _closest(facts)
        )
    return None


def _objections_answer(facts: PollFacts, option: OptionTally | None) -> str:
    if (cannot := _cannot_match_voters(facts, option)) is not None:
        return cannot
    others = [
        source
        for source in _ranked_comments(facts)
        if source.options and option.text not in source.options
    ]
    standing = f"{option.text} has {_votes(option.votes)} ({option.percentage:.1f}%)."
    if not others:
        return f"{standing} No one who chose another option left a comment against it."
    return f"{standing} Voters who chose otherwise say: {_quotes(others, facts)}."


def _summary_answer(facts: PollFacts) -> str:
    text = tally_in_words(facts)
    if not facts.themes:
        return text + _closest(facts)
    count = len(facts.themes)
    parts = []
    for theme in facts.themes:
        part = f"{theme.label} ({theme.size} comment{'' if theme.size == 1 else 's'}"
        if theme.options:
            chosen = ", ".join(f"{o.text} {o.count}" for o in theme.options if o.count)
            part += f"; its authors chose {chosen}"
        part += ")"
        if theme.quotes:
            part += f", e.g. “{theme.quotes[0].text}”"
        parts.append(part)
    return f"{text} The comments fall into {count} theme{'' if count == 1 else 's'}: " + (
        "; ".join(parts) + "."
    )


def local_answer(facts: PollFacts, question: str = "") -> list[str]:
    """Build an answer fitting the question from the tally, the comments and the themes
    alone, in a few streamable pieces."""
    intent, name = question_intent(question, [option.text for option in facts.tally.options])
    option = next((o for o in facts.tally.options if o.text == name), None)
    if intent == Intent.LEAD:
        pieces = [_lead_answer(facts)]
    elif intent == Intent.COUNT:
        pieces = [_count_answer(facts, question, option)]
    elif intent == Intent.WHY:
        pieces = [_why_answer(facts, option)]
    elif intent == Intent.OBJECTIONS:
        pieces = [_objections_answer(facts, option)]
    elif intent == Intent.SUMMARY:
        pieces = [_summary_answer(facts)]
    else:
        pieces = [tally_in_words(facts)]
        if facts.comments:
            pieces.append(
                f" The comment closest to your question says: "
                f"{quote(facts.comments[0], with_option=facts.results_visible)}"
            )
            if len(facts.comments) > 1:
                pieces.append(" More related comments are quoted below.")
        else:
            pieces.append(" No one has left a comment that speaks to this yet.")
    pieces.append(
        "\n\nThis answer was put together from the poll's numbers and comments; "
        "it is not AI-written."
    )
    return pieces
