"""Casting a vote, answered as JSON, an htmx panel, or a redirect back to the poll."""

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from core.http import BadRequest, error_body, is_json_request, json_error, see_other
from core.voters import Voter, voter_from_request
from polls import selectors, services
from polls.models import Poll
from polls.services import VoteResult, vote_rules
from polls.views.pages import VOTE_MESSAGES, poll_context
from polls.visibility import poll_or_404

VOTE_STATUS = {
    VoteResult.ALREADY_VOTED: 409,
    VoteResult.CLOSED: 409,
    VoteResult.LOGIN_REQUIRED: 403,
    VoteResult.OPTIONS_CHANGED: 409,
    VoteResult.NOT_VOTED: 409,
    VoteResult.CHANGES_NOT_ALLOWED: 409,
}
# A change or a withdrawal replaces what exists: 200, where a new vote creates (201).
SUCCESS = {VoteResult.ACCEPTED, VoteResult.CHANGED, VoteResult.WITHDRAWN}


def vote_body(outcome: services.VoteOutcome) -> dict:
    """The JSON a vote answers with, the same for a first try and its replays."""
    results_doc = selectors.results_json(
        poll=outcome.poll,
        tally=outcome.tally,
        visible=outcome.results_visible,
        closed=outcome.closed,
    )
    if outcome.result in SUCCESS:
        # null in an anonymous poll: the vote is in, but no one keeps what it chose.
        your_vote = None if outcome.poll.anonymous else outcome.your_vote or []
        return {**results_doc, "your_vote": your_vote}
    body = error_body(outcome.result.value, VOTE_MESSAGES[outcome.result])
    body["results"] = results_doc
    return body


@require_POST
def vote(request, code):
    """Cast a vote. On PostgreSQL the fast route (polls/fast_vote/) answers most votes
    before they get here, by the same rules (polls/services/vote_rules.py)."""
    poll = poll_or_404(request, code)
    voter = voter_from_request(request)
    vote_rules.count_vote_request(voter)
    return cast_and_answer(request, poll, voter)


def cast_and_answer(request, poll: Poll, voter: Voter):
    """Clean, cast and answer a vote whose rate limits are counted."""
    options = list(poll.options.all())
    try:
        clean = vote_rules.clean_vote(request, poll=poll, options=options)
    except BadRequest as error:
        return answer_bad_vote(request, poll, error)
    outcome = services.vote_cast(
        poll=poll,
        voter=voter,
        option_ids=clean.option_ids,
        options=options,
        comment=clean.comment,
        idempotency_key=clean.idempotency_key,
    )
    return answer_vote(request, poll, outcome)


def answer_bad_vote(request, poll: Poll, error: BadRequest):
    """Answer a vote whose body is unusable: which field is wrong, the choice kept."""
    if is_json_request(request):
        return json_error(400, error.code, error.message, error.field)
    context = poll_context(request, poll)
    context["vote_error"] = error
    context.update(kept_vote(request))
    template = "polls/poll_detail.html#vote-panel" if request.htmx else "polls/poll_detail.html"
    return render(request, template, context, status=400)


def answer_vote(request, poll: Poll, outcome: services.VoteOutcome):
    """Answer a cast vote: 201 for a JSON client's new vote, else as answer_outcome says."""
    created = outcome.result == VoteResult.ACCEPTED and is_json_request(request)
    return answer_outcome(request, poll, outcome, status=201 if created else 200)


def answer_outcome(request, poll: Poll, outcome: services.VoteOutcome, *, status: int):
    """Answer a vote, change or withdrawal: JSON, the vote panel for htmx, or the page
    (303 back to it after a success without JavaScript)."""
    status = VOTE_STATUS.get(outcome.result, status)
    if is_json_request(request):
        return JsonResponse(vote_body(outcome), status=status)
    if outcome.result in SUCCESS and not request.htmx:
        marker = "1" if outcome.result == VoteResult.ACCEPTED else outcome.result.value
        return see_other(f"{poll.get_absolute_url()}?voted={marker}")
    your_vote = outcome.your_vote if outcome.result != VoteResult.WITHDRAWN else None
    context = poll_context(
        request, poll, your_vote=your_vote, message=VOTE_MESSAGES[outcome.result]
    )
    context["vote_result"] = outcome.result.value
    if request.htmx:
        return render(request, "polls/poll_detail.html#vote-panel", context, status=status)
    context["comments"] = selectors.recent_comments(poll=poll)
    return render(request, "polls/poll_detail.html", context, status=status)


@require_POST
def withdraw(request, code):
    """Take back this browser's vote where the poll allows it (409 with the reason if not)."""
    poll = poll_or_404(request, code)
    voter = voter_from_request(request)
    vote_rules.count_vote_request(voter)
    outcome = services.vote_withdraw(poll=poll, voter=voter)
    return answer_outcome(request, poll, outcome, status=200)


STALE_VOTE_MESSAGE = (
    "Your vote was not sent yet: you signed in or out in another tab. Your choice is kept"
    " below — press Vote to send it."
)


def kept_vote(request) -> dict:
    """What the voter picked and wrote, to fill the form in again."""
    kept = []
    for value in request.POST.getlist("option"):
        try:
            kept.append(int(value))
        except ValueError:
            continue
    return {"kept_options": kept, "kept_comment": request.POST.get("comment", "")}


def vote_resend(request, code):
    """A vote refused for an out-of-date token: the poll again, the choice kept, a fresh token."""
    poll = poll_or_404(request, code)
    context = poll_context(request, poll, message=STALE_VOTE_MESSAGE)
    context.update(kept_vote(request))
    if request.htmx:
        return render(request, "polls/poll_detail.html#vote-panel", context, status=403)
    context["comments"] = selectors.recent_comments(poll=poll)
    return render(request, "polls/poll_detail.html", context, status=403)


vote.resend_after_stale_token = vote_resend
