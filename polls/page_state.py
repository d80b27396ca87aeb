"""What a poll page shows one viewer, for the page itself and for its live socket alike.

The views render the page from this context and the socket renders the same partials from
it on every change of state, so the two can never disagree about what a viewer may see.
"""

from core.voters import Voter
from polls import selectors
from polls.models import Poll


def viewer_state(
    *,
    poll: Poll,
    voter: Voter,
    signed_in: bool,
    your_vote: list[int] | None = None,
    message: str = "",
    options=None,
) -> dict:
    """The poll as this viewer sees it now: their ballot, the form or why there is none,
    and the results where the one visibility rule (polls.selectors) lets them see them."""
    options = options if options is not None else list(poll.options.all())
    ballot = selectors.voter_ballot(poll=poll, voter=voter)
    if your_vote is None and ballot is not None:
        your_vote = sorted(ballot.choices.values_list("option_id", flat=True))
    elif your_vote is None and poll.anonymous:
        your_vote = selectors.voter_choices(poll=poll, voter=voter)
    owner = selectors.is_poll_owner(poll=poll, voter=voter)
    tally = selectors.poll_tally(poll=poll, options=options)
    closed = poll.is_closed()
    visible = selectors.results_visible(poll=poll, has_voted=your_vote is not None, is_owner=owner)
    chosen = set(your_vote or [])
    login_to_vote = poll.protection == Poll.Protection.ACCOUNT and not signed_in
    if your_vote is not None:
        kind = "voted"
    elif closed:
        kind = "closed"
    elif login_to_vote:
        kind = "sign-in"
    else:
        kind = "form"
    can_change = your_vote is not None and poll.allows_vote_changes and not closed
    option_ids = ",".join(str(option.id) for option in options)
    return {
        "poll": poll,
        "options": options,
        "tally": tally,
        "results_visible": visible,
        "your_vote": your_vote,
        "your_vote_texts": [option.text for option in options if option.id in chosen],
        "your_comment": ballot.comment if ballot is not None else "",
        "is_owner": owner,
        "closed": closed,
        "login_to_vote": login_to_vote,
        "can_change": can_change,
        # The ballot area is replaced by a push only when this changes: a form being
        # filled in is never reset by a push that would show the same form.
        "ballot_state": f"{kind}:{sorted(chosen)}:{can_change}:{option_ids}",
        "message": message,
    }
