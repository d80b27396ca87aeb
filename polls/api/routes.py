"""The polls' operations. Each runs through the pages' forms, selectors and services (and
their messages), so a rule holds alike for the pages and for programs."""

import hashlib
import json
import re
from collections.abc import Callable

from django.http import HttpResponse, QueryDict
from django.urls import reverse
from ninja import Header, Query, Router, Schema, Status

from core.api_errors import refusals
from core.http import Refused, note_ratelimit
from core.ratelimit import ratelimit_hit
from core.security import client_ip
from core.voters import new_voter_token, voter_from_request
from polls import selectors, services
from polls.api.paging import decode_cursor, encode_cursor, keyset_page
from polls.api.schemas import (
    CommentPage,
    PollCreated,
    PollCreateIn,
    PollDetail,
    PollEditIn,
    PollPage,
    Results,
    VoteAccepted,
    VoteIn,
    VoteRefused,
    VoterTokenOut,
)
from polls.forms import (
    ANONYMITY_LOCKED,
    OPTIONS_LOCKED,
    TEXT_VALIDATORS,
    PollCreateForm,
    PollEditForm,
    VoteForm,
)
from polls.models import Ballot, Poll
from polls.services import vote_rules
from polls.views.voting import VOTE_STATUS, vote_body
from polls.visibility import viewable_poll

PAGE_SIZE = 20
SEARCH_MAX_RESULTS = 100
CODE_PATTERN = re.compile(r"^[0-9a-z]{1,16}$")
FORBIDDEN = "Only this poll's owner can do that."

router = Router(tags=["polls"])


# The pages' forms and lookups, for documents that arrived as JSON.


def form_data(document: Schema) -> QueryDict:
    """The fields a client sent, as the QueryDict the pages' forms read."""
    data = QueryDict(mutable=True)
    for name, value in document.dict(exclude_unset=True).items():
        if value is None:
            continue
        if isinstance(value, list):
            data.setlist(name, [str(item) for item in value])
        else:
            data[name] = str(value)
    return data


def first_error(form) -> Refused:
    field, errors = next(iter(form.errors.as_data().items()))
    error = errors[0]
    code = "options_locked" if error.code == "locked" else "invalid"
    return Refused(400, code, error.messages[0], None if field == "__all__" else field)


def poll_or_404(request, code: str) -> Poll:
    poll = None
    if CODE_PATTERN.match(code):
        poll = viewable_poll(code=code, voter=voter_from_request(request), is_staff=False)
    if poll is None:
        raise Refused(
            404, "not_found", "There is no poll with this code; it may have been deleted."
        )
    return poll


def owned_poll(request, code: str) -> Poll:
    poll = poll_or_404(request, code)
    if not selectors.is_poll_owner(poll=poll, voter=voter_from_request(request)):
        hint = (
            "It belongs to another account."
            if request.user.is_authenticated
            else "If it is yours, send your API token."
        )
        raise Refused(403, "forbidden", f"{FORBIDDEN} {hint}")
    return poll


def hit(request, *, scope: str, ident: str) -> None:
    note_ratelimit(request, ratelimit_hit(scope=scope, ident=ident))


def check_text(value: str, field: str) -> None:
    for validator in TEXT_VALIDATORS:
        try:
            validator(value)
        except Exception as error:
            raise Refused(400, "invalid", error.messages[0], field) from None


# Documents.


def summary(poll: Poll) -> dict:
    return {
        "code": poll.code,
        "url": poll.get_absolute_url(),
        "question": poll.question,
        "description": poll.description,
        "choice_type": poll.choice_type,
        "closed": poll.is_closed(),
        "created_at": poll.created_at,
    }


def detail(request, poll: Poll) -> dict:
    return {
        **summary(poll),
        "share_url": reverse("polls:share", kwargs={"code": poll.code}),
        "question_edited": poll.question_edited,
        "options": [{"id": option.id, "text": option.text} for option in poll.options.all()],
        "results_visibility": poll.results_visibility,
        "allow_comments": poll.allow_comments,
        "protection": poll.protection,
        "listed": poll.listed,
        "anonymous": poll.anonymous,
        "closes_at": poll.closes_at,
        "timezone": poll.timezone,
        "is_owner": selectors.is_poll_owner(poll=poll, voter=voter_from_request(request)),
    }


def results_document(request, poll: Poll) -> dict:
    """The results JSON of the page /poll/<code>/results, as this client may see them."""
    voter = voter_from_request(request)
    return selectors.results_json(
        poll=poll,
        tally=selectors.poll_tally(poll=poll),
        visible=selectors.voter_sees_results(poll=poll, voter=voter),
    )


# Operations.


PollSearch = Callable[..., object]


def build_router(*, search: PollSearch) -> Router:
    """The polls router, its list searching with `search` (chat.search.search_polls: the
    search /search runs, which polls may not import: chat sits above it). Built once."""
    if getattr(router, "poll_search", None) is not None:
        raise RuntimeError("The polls router is already built.")
    router.poll_search = search

    @router.get("/polls", response={200: PollPage, **refusals()}, summary="List public polls")
    def poll_list(
        request,
        q: str = Query("", max_length=200, description="Search words, as /search takes them"),
        cursor: str = Query("", max_length=200, description="`next` of the previous page"),
    ):
        """Listed polls, newest first; with `q`, the polls /search finds, best first."""
        q = q.strip()
        if not q:
            polls, next_cursor = keyset_page(Poll.objects.public(), cursor, PAGE_SIZE)
            return {"items": [summary(poll) for poll in polls], "next": next_cursor}
        check_text(q, "q")
        offset = decode_cursor(cursor).get("o", 0) if cursor else 0
        if not isinstance(offset, int) or not 0 <= offset < SEARCH_MAX_RESULTS:
            raise Refused(400, "invalid", "This cursor is not one Tally gave out.", "cursor")
        found = search(query=q, limit=min(SEARCH_MAX_RESULTS, offset + PAGE_SIZE + 1)).polls
        page = found[offset : offset + PAGE_SIZE]
        more = len(found) > offset + PAGE_SIZE and offset + PAGE_SIZE < SEARCH_MAX_RESULTS
        return {
            "items": [summary(poll) for poll in page],
            "next": encode_cursor({"o": offset + PAGE_SIZE}) if more else None,
        }

    return router


@router.post("/polls", response={201: PollCreated, **refusals(429)}, summary="Create a poll")
def poll_create(request, payload: PollCreateIn, response: HttpResponse):
    """Create a poll from the create form's fields: signed in, it is your account's;
    anonymous, the voter token you sent (or the one X-Voter-Token answers with) owns it."""
    hit(request, scope="create-ip", ident=client_ip(request))
    form = PollCreateForm(form_data(payload), user=request.user)
    if not form.is_valid():
        raise first_error(form)
    if not request.user.is_authenticated and not request.voter_token:
        # An anonymous program manages its poll with the voter token it is given here.
        request.voter_token = response["X-Voter-Token"] = new_voter_token()
    poll = services.poll_create(
        **form.service_arguments(),
        owner=request.user if request.user.is_authenticated else None,
        creator_token=request.voter_token,
    )
    share_url = reverse("polls:share", kwargs={"code": poll.code})
    return Status(201, {"code": poll.code, "url": poll.get_absolute_url(), "share_url": share_url})


@router.get("/polls/{code}", response={200: PollDetail, **refusals()}, summary="Read a poll")
def poll_read(request, code: str):
    """A poll's text, options and settings (any poll whose code you have, listed or not)."""
    return detail(request, poll_or_404(request, code))


@router.patch("/polls/{code}", response={200: PollDetail, **refusals()}, summary="Edit a poll")
def poll_update(request, code: str, payload: PollEditIn):
    """Owner: change what the edit page changes; options only while the poll has no votes."""
    poll = owned_poll(request, code)
    locked = selectors.poll_has_votes(poll=poll)
    form = PollEditForm.merged(poll, form_data(payload), locked=locked)
    if form.is_valid():
        try:
            services.poll_update(poll=poll, **form.service_arguments())
        except services.OptionsLocked:  # the first vote arrived meanwhile
            form.locked = True
            form.add_error("options", OPTIONS_LOCKED)
        except services.AnonymityLocked:
            form.locked = True
            form.add_error("anonymous", ANONYMITY_LOCKED)
    if not form.is_valid():
        raise first_error(form)
    return detail(request, poll)


@router.delete("/polls/{code}", response={204: None, **refusals()}, summary="Delete a poll")
def poll_delete(request, code: str):
    """Owner: delete the poll with its votes and comments."""
    services.poll_delete(poll=owned_poll(request, code), actor=request.user)
    return Status(204, None)


def owner_results(poll: Poll) -> dict:
    return selectors.results_json(poll=poll, tally=selectors.poll_tally(poll=poll), visible=True)


@router.post("/polls/{code}/close", response={200: Results, **refusals()}, summary="Close")
def poll_close(request, code: str):
    """Owner: close the poll now; answers its final results."""
    poll = owned_poll(request, code)
    services.poll_close(poll=poll, actor=request.user)
    return owner_results(poll)


@router.post("/polls/{code}/reopen", response={200: Results, **refusals()}, summary="Reopen")
def poll_reopen(request, code: str):
    """Owner: open a closed poll for votes again (a past close time is cleared)."""
    poll = owned_poll(request, code)
    services.poll_reopen(poll=poll, actor=request.user)
    return owner_results(poll)


@router.post(
    "/voter-token", response={201: VoterTokenOut, **refusals(429)}, summary="New voter token"
)
def voter_token(request):
    """A new anonymous voter token, to send as X-Voter-Token (keep it: it is your vote)."""
    hit(request, scope="vote-ip", ident=client_ip(request))
    return Status(201, {"voter_token": new_voter_token()})


@router.post(
    "/polls/{code}/vote",
    response={**refusals(429), 201: VoteAccepted, 403: VoteRefused, 409: VoteRefused},
    summary="Vote",
)
def vote(
    request,
    code: str,
    payload: VoteIn,
    response: HttpResponse,
    idempotency_key: str = Header("", alias="Idempotency-Key", max_length=128),
):
    """Cast a vote as the poll page does; a retry with the same Idempotency-Key gets the
    first answer again and casts no second vote. Without a voter token (or account) the
    answer's X-Voter-Token header carries a new one: send it on your next requests."""
    poll = poll_or_404(request, code)
    voter = voter_from_request(request)
    for state in vote_rules.count_vote_request(voter):
        note_ratelimit(request, state)
    options = list(poll.options.all())
    form = VoteForm(form_data(payload), poll=poll, options=options)
    if not form.is_valid():
        raise first_error(form)
    if voter.user_id is None and not voter.token:
        request.voter_token = response["X-Voter-Token"] = new_voter_token()
        voter = voter_from_request(request)
    outcome = services.vote_cast(
        poll=poll,
        voter=voter,
        option_ids=form.cleaned_data["option"],
        options=options,
        comment=form.cleaned_data.get("comment", ""),
        idempotency_key=idempotency_key or form.cleaned_data.get("idempotency_key", ""),
    )
    return Status(VOTE_STATUS.get(outcome.result, 201), vote_body(outcome))


@router.get(
    "/polls/{code}/results",
    response={200: Results, 304: None, **refusals()},
    summary="Results",
)
def results(
    request,
    code: str,
    if_none_match: str = Header("", alias="If-None-Match", max_length=1000),
):
    """The results document; its ETag lets a poller ask again cheaply (304 when unchanged).
    Where the poll hides results from you, `results_visible` is false and counts are null."""
    document = results_document(request, poll_or_404(request, code))
    etag = (
        '"' + hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32] + '"'
    )
    if etag in {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(json.dumps(document), content_type="application/json")
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response


@router.get("/polls/{code}/comments", response={200: CommentPage, **refusals()}, summary="Comments")
def comments(
    request, code: str, cursor: str = Query("", max_length=200, description="`next` of before")
):
    """The poll's comments anyone may read, newest first."""
    poll = poll_or_404(request, code)
    ballots, next_cursor = keyset_page(
        selectors.visible_comments(poll_id=poll.pk).only("pk", "comment", "created_at"),
        cursor,
        PAGE_SIZE * 2,
    )
    items = [{"id": b.pk, "text": b.comment, "created_at": b.created_at} for b in ballots]
    return {"items": items, "next": next_cursor}


@router.delete(
    "/polls/{code}/comments/{comment_id}",
    response={204: None, **refusals()},
    summary="Remove a comment",
)
def comment_remove(request, code: str, comment_id: int):
    """Owner: hide a comment from the poll page, the API and answers."""
    poll = owned_poll(request, code)
    if not (
        0 < comment_id < 2**63
        and Ballot.objects.filter(pk=comment_id, poll=poll).exclude(comment="").exists()
    ):
        raise Refused(404, "not_found", "This poll has no comment with this id.")
    services.comment_remove(poll=poll, ballot_id=comment_id, actor=request.user)
    return Status(204, None)
