"""Words about the numbers: tally_line, the one line of exact numbers that ends every answer,
and the answer built without a model (tally_in_words, local_answer) from the tally and the
comments when no GROQ_API_KEY is set. Hidden results are named as hidden, never counted."""

from chat.ask.retrieval import PollFacts
from polls.models import Poll


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


def local_answer(facts: PollFacts) -> list[str]:
    """Build an answer from the tally and the comments alone, in a few streamable pieces."""
    pieces = [tally_in_words(facts)]
    if facts.comments:
        pieces.append(f" The comment closest to your question says: “{facts.comments[0].text}”")
        if len(facts.comments) > 1:
            pieces.append(" More related comments are quoted below.")
    else:
        pieces.append(" No one has left a comment that speaks to this yet.")
    pieces.append(
        "\n\nThis answer was put together from the poll's numbers and comments; "
        "it is not AI-written."
    )
    return pieces
