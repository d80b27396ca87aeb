"""OpenGraph and Twitter card tags of a poll's public pages (SPEC §7)."""

from django.urls import reverse
from django.utils.text import Truncator

from polls.models import Poll
from polls.selectors import Tally, poll_tally
from polls.sharing.links import absolute, poll_link, publicly_visible

DESCRIPTION_LENGTH = 200


def leader_text(tally: Tally) -> str:
    if tally.total_votes == 0:
        return "No votes yet."
    leaders = [option for option in tally.options if option.votes == tally.leading_votes]
    votes = f"{tally.total_votes} vote{'s' if tally.total_votes != 1 else ''}"
    if len(leaders) == 1:
        return f"Leading: {leaders[0].text} with {leaders[0].percentage}% of {votes}."
    names = ", ".join(option.text for option in leaders)
    return f"Tied: {names}, {leaders[0].percentage}% each of {votes}."


def description(poll: Poll, tally: Tally) -> str:
    """The options, and the leader where anyone may see the numbers."""
    options = "Options: " + " · ".join(option.text for option in tally.options) + "."
    if not publicly_visible(poll):
        return Truncator(f"{options} Vote on Tally.").chars(DESCRIPTION_LENGTH)
    return Truncator(f"{leader_text(tally)} {options}").chars(DESCRIPTION_LENGTH)


def opengraph(request, poll: Poll, *, tally: Tally | None = None) -> dict:
    """What base.html writes into the page's head as og:* and twitter:* tags."""
    tally = tally if tally is not None else poll_tally(poll=poll)
    return {
        "title": poll.question,
        "description": description(poll, tally),
        "url": poll_link(request, poll),
        "image": absolute(request, reverse("polls:card", kwargs={"code": poll.code})),
        "image_alt": f"Tally poll: {poll.question}",
    }
