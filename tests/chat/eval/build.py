"""Build the evaluation polls through the site's own services."""

from dataclasses import dataclass

from chat.services import poll_snippets_sync
from chat.themes import poll_themes_refresh
from core.voters import Voter, new_voter_token
from polls import services
from polls.models import Ballot, Poll
from tests.chat.eval.dataset import POLLS, EvalPoll
from tests.polls.factories import PollFactory


@dataclass
class Built:
    spec: EvalPoll
    poll: Poll
    ballots: dict[str, int]  # comment key -> ballot id
    option_of: dict[int, str]  # ballot id -> the option its author chose


def vote(poll: Poll, option_text: str, comment: str = "") -> None:
    option = poll.options.get(text=option_text)
    services.vote_cast(
        poll=poll,
        voter=Voter(token=new_voter_token(), ip=""),
        option_ids=[option.id],
        comment=comment,
    )


def build(spec: EvalPoll, **fields) -> Built:
    poll = PollFactory(question=spec.question, options=list(spec.options), **fields)
    for option, text in spec.comments.values():
        vote(poll, option, text)
    # Votes without comments: the first option leads by two, the second is not tied.
    counts = dict.fromkeys(spec.options, 0)
    for option, _ in spec.comments.values():
        counts[option] += 1
    lead = max(counts[option] for option in spec.options[1:]) + 2
    for _ in range(max(1, lead - counts[spec.options[0]])):
        vote(poll, spec.options[0])
    if counts[spec.options[1]] == counts[spec.options[2]]:
        vote(poll, spec.options[1])
    poll_snippets_sync(poll_id=poll.pk)
    poll_themes_refresh(poll_id=poll.pk)
    by_text = {
        comment: ballot_id
        for ballot_id, comment in Ballot.objects.filter(poll=poll).values_list("id", "comment")
    }
    ballots = {key: by_text[text] for key, (_, text) in spec.comments.items()}
    option_of = {ballots[key]: option for key, (option, _) in spec.comments.items()}
    return Built(spec=spec, poll=poll, ballots=ballots, option_of=option_of)


def build_all(**fields) -> list[Built]:
    return [build(spec, **fields) for spec in POLLS]
