"""Poll pages and actions. Each answers htmx with a fragment, a plain form with a redirect
or a page, and a JSON client with JSON, as the public API describes."""

import functools

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from chat.search import search_polls
from core.http import (
    BadRequest,
    error_body,
    is_json_request,
    json_error,
    read_payload,
    see_other,
)
from core.ratelimit import RateLimited, ratelimit_hit
from core.security import client_ip
from core.views import error_response, rate_limited
from polls import live, selectors, services
from polls.forms import MAX_OPTIONS, OPTIONS_LOCKED, PollCreateForm, PollEditForm, VoteForm
from polls.models import Ballot, Poll
from polls.qr import qr_code_svg
from polls.services import VoteResult
from polls.viewers import viewer_count

VOTE_MESSAGES = {
    VoteResult.ACCEPTED: "Your vote is in.",
    VoteResult.ALREADY_VOTED: "You already voted on this poll.",
    VoteResult.CLOSED: "This poll is closed.",
    VoteResult.LOGIN_REQUIRED: "Sign in to vote on this poll.",
    VoteResult.OPTIONS_CHANGED: "This poll's options just changed: please choose again.",
}
VOTE_STATUS = {
    VoteResult.ALREADY_VOTED: 409,
    VoteResult.CLOSED: 409,
    VoteResult.LOGIN_REQUIRED: 403,
    VoteResult.OPTIONS_CHANGED: 409,
}
DEFAULT_OPTION_FIELDS = 3


def voter_for(request) -> services.Voter:
    user = request.user
    return services.Voter(
        token=request.voter_token,
        ip=client_ip(request),
        user_id=user.pk if user.is_authenticated else None,
    )


def is_owner(request, poll: Poll) -> bool:
    return selectors.is_poll_owner(poll=poll, voter=voter_for(request))


def poll_context(request, poll: Poll, *, your_vote=None, message="") -> dict:
    """Everything the poll page and its fragments need to render for this browser."""
    options = list(poll.options.all())
    voter = voter_for(request)
    if your_vote is None:
        your_vote = selectors.voter_choices(poll=poll, voter_key=voter.key)
    owner = selectors.is_poll_owner(poll=poll, voter=voter)
    version = live.tally_version()
    tally = selectors.poll_tally(poll=poll, options=options)
    visible = selectors.results_visible(poll=poll, has_voted=your_vote is not None, is_owner=owner)
    chosen = set(your_vote or [])
    return {
        "poll": poll,
        "options": options,
        "tally": tally,
        "results_visible": visible,
        "your_vote": your_vote,
        "your_vote_texts": [option.text for option in options if option.id in chosen],
        "is_owner": owner,
        "closed": poll.is_closed(),
        "vote_form": VoteForm(poll=poll, options=options),
        "message": message,
        "version": version,
        "viewers": viewer_count(poll.pk),
    }


# Home and creating polls


def home_context(request, form=None, option_values=None) -> dict:
    if option_values is None:
        option_values = form.data.getlist("options") if form is not None and form.data else []
    option_values = option_values + [""] * (DEFAULT_OPTION_FIELDS - len(option_values))
    return {
        "form": form or PollCreateForm(),
        "option_values": option_values[:MAX_OPTIONS],
        "max_options": MAX_OPTIONS,
        "recent_polls": selectors.recent_public_polls(),
    }


@require_GET
def home(request):
    return render(request, "polls/home.html", home_context(request))


@require_GET
def option_field(request):
    """One more option input for the create form (the "Add option" button)."""
    try:
        number = max(1, min(int(request.GET.get("n", "1")), 20))
    except ValueError:
        number = 1
    return render(request, "polls/home.html#option-input", {"number": number, "value": ""})


@require_POST
def create(request):
    json_client = is_json_request(request)
    try:
        ratelimit_hit(scope="create-ip", ident=client_ip(request))
        payload = read_payload(request, list_fields=("options",))
    except RateLimited as error:
        return rate_limited(request, error.retry_after)
    except BadRequest as error:
        if json_client:
            return json_error(400, error.code, error.message, error.field)
        return render(
            request,
            "polls/home.html#create-form" if request.htmx else "polls/home.html",
            {**home_context(request), "body_error": error.message},
            status=400,
        )

    form = PollCreateForm(payload)
    if not json_client and "add_option" in payload:
        # Without JavaScript, "Add option" posts the form back for one more empty field.
        unbound = PollCreateForm(initial={name: payload.get(name) for name in form.fields})
        values = [*payload.getlist("options"), ""]
        return render(request, "polls/home.html", home_context(request, unbound, values))
    if not form.is_valid():
        if json_client:
            field, errors = next(iter(form.errors.items()))
            return json_error(400, "invalid", errors[0], field)
        template = "polls/home.html#create-form" if request.htmx else "polls/home.html"
        return render(request, template, home_context(request, form), status=400)

    poll = services.poll_create(
        **form.service_arguments(),
        owner=request.user if request.user.is_authenticated else None,
        creator_token=request.voter_token,
    )
    share_url = reverse("polls:share", kwargs={"code": poll.code})
    if json_client:
        return JsonResponse(
            {"code": poll.code, "url": poll.get_absolute_url(), "share_url": share_url},
            status=201,
        )
    if request.htmx:
        return HttpResponseClientRedirect(share_url)
    return see_other(share_url)


# A poll's pages


@require_GET
def detail(request, code):
    poll = get_object_or_404(Poll, code=code)
    context = poll_context(request, poll)
    if request.GET.get("voted") and context["your_vote"] is not None:
        context["message"] = VOTE_MESSAGES[VoteResult.ACCEPTED]
        context["vote_result"] = VoteResult.ACCEPTED.value
    if request.htmx and not request.htmx.boosted:
        return render(request, "polls/poll_detail.html#tally", context)
    context["comments"] = selectors.recent_comments(poll=poll)
    return render(request, "polls/poll_detail.html", context)


@require_GET
def share(request, code):
    poll = get_object_or_404(Poll, code=code)
    poll_url = request.build_absolute_uri(poll.get_absolute_url())
    return render(
        request,
        "polls/share.html",
        {
            "poll": poll,
            "poll_url": poll_url,
            "is_owner": is_owner(request, poll),
            "closed": poll.is_closed(),
        },
    )


@require_GET
def results(request, code):
    poll = get_object_or_404(Poll, code=code)
    context = poll_context(request, poll)
    body = selectors.results_json(
        poll=poll, tally=context["tally"], visible=context["results_visible"]
    )
    return JsonResponse(body)


def vote_body(outcome: services.VoteOutcome, visible: bool) -> dict:
    """The JSON a vote answers with; stored for Idempotency-Key replays."""
    results_doc = selectors.results_json(poll=outcome.poll, tally=outcome.tally, visible=visible)
    if outcome.result == VoteResult.ACCEPTED:
        return {**results_doc, "your_vote": outcome.your_vote}
    body = error_body(outcome.result.value, VOTE_MESSAGES[outcome.result])
    body["results"] = results_doc
    return body


@require_POST
def vote(request, code):
    poll = get_object_or_404(Poll, code=code)
    json_client = is_json_request(request)
    voter = voter_for(request)
    options = list(poll.options.all())
    try:
        ratelimit_hit(scope="vote-ip", ident=voter.ip)
        ratelimit_hit(scope="vote-voter", ident=voter.key)
        payload = read_payload(request, list_fields=("option",))
        form = VoteForm(payload, poll=poll, options=options)
        if not form.is_valid():
            field, errors = next(iter(form.errors.items()))
            raise BadRequest("invalid", errors[0], field)
    except RateLimited as error:
        return rate_limited(request, error.retry_after)
    except BadRequest as error:
        if json_client:
            return json_error(400, error.code, error.message, error.field)
        context = poll_context(request, poll)
        context["vote_error"] = error
        template = "polls/poll_detail.html#vote-panel" if request.htmx else "polls/poll_detail.html"
        return render(request, template, context, status=400)

    owner = is_owner(request, poll)

    def response_body(outcome):
        has_voted = outcome.your_vote is not None
        visible = selectors.results_visible(poll=poll, has_voted=has_voted, is_owner=owner)
        return vote_body(outcome, visible)

    outcome = services.vote_cast(
        poll=poll,
        voter=voter,
        option_ids=form.cleaned_data["option"],
        options=options,
        comment=form.cleaned_data.get("comment", ""),
        idempotency_key=request.headers.get("Idempotency-Key")
        or form.cleaned_data.get("idempotency_key", ""),
        response_body=response_body,
    )
    status = VOTE_STATUS.get(outcome.result, 201 if json_client else 200)
    if json_client:
        return JsonResponse(outcome.replayed_body or response_body(outcome), status=status)
    if outcome.result == VoteResult.ACCEPTED and not request.htmx:
        return see_other(poll.get_absolute_url() + "?voted=1")
    context = poll_context(
        request, poll, your_vote=outcome.your_vote, message=VOTE_MESSAGES[outcome.result]
    )
    context["vote_result"] = outcome.result.value
    if request.htmx:
        return render(request, "polls/poll_detail.html#vote-panel", context, status=status)
    return render(request, "polls/poll_detail.html", context, status=status)


@require_GET
def qr_svg(request, code):
    poll = get_object_or_404(Poll, code=code)
    poll_url = request.build_absolute_uri(poll.get_absolute_url())
    response = HttpResponse(qr_code_svg(poll_url), content_type="image/svg+xml")
    patch_cache_control(response, public=True, max_age=86400)
    return response


@require_GET
def search(request):
    query = request.GET.get("q", "").strip()[:200]
    tag = request.GET.get("tag", "").strip()[:40]
    results = search_polls(query=query, tag=tag)
    template = "polls/search.html#results" if request.htmx else "polls/search.html"
    context = {
        "query": query,
        "tag": tag,
        "polls": results.polls,
        "warming_up": results.warming_up,
    }
    return render(request, template, context)


# Owner actions


def owner_only(view):
    """Look the poll up (404 if unknown) and let only its owner through (403 otherwise)."""

    @functools.wraps(view)
    def wrapper(request, code, **kwargs):
        poll = get_object_or_404(Poll, code=code)
        if not is_owner(request, poll):
            hint = (
                "It belongs to another account."
                if request.user.is_authenticated
                else "If it is yours, log in first."
            )
            return error_response(
                request,
                status=403,
                code="forbidden",
                message=f"Only this poll's owner can do that. {hint}",
                page="polls/forbidden.html",
            )
        return view(request, poll, **kwargs)

    return wrapper


def back_to(request, default: str) -> str:
    """The form's own `next` page when it is on this site, else the default."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def edit_context(request, poll: Poll, form: PollEditForm, option_values=None) -> dict:
    if option_values is None:
        if form.is_bound:
            option_values = form.data.getlist("options")
        else:
            option_values = list(form.current_options)
    return {
        "poll": poll,
        "form": form,
        "locked": form.locked,
        "option_values": option_values[:MAX_OPTIONS],
        "max_options": MAX_OPTIONS,
    }


def poll_document(poll: Poll) -> dict:
    """The poll's editable fields as JSON, as an edit answers them."""
    return {
        "code": poll.code,
        "url": poll.get_absolute_url(),
        "question": poll.question,
        "question_edited": poll.question_edited,
        "description": poll.description,
        "options": [{"id": option.id, "text": option.text} for option in poll.options.all()],
        "results_visibility": poll.results_visibility,
        "allow_comments": poll.allow_comments,
        "listed": poll.listed,
        "closes_at": poll.closes_at.isoformat() if poll.closes_at else None,
        "timezone": poll.timezone,
        "closed": poll.is_closed(),
    }


@require_http_methods(["GET", "POST"])
@owner_only
def edit(request, poll):
    locked = selectors.poll_has_votes(poll=poll)
    if request.method == "GET":
        form = PollEditForm(
            initial=PollEditForm.current_data(poll).dict(), poll=poll, locked=locked
        )
        return render(request, "polls/poll_edit.html", edit_context(request, poll, form))

    json_client = is_json_request(request)
    template = "polls/poll_edit.html#edit-form" if request.htmx else "polls/poll_edit.html"
    try:
        payload = read_payload(request, list_fields=("options",))
    except BadRequest as error:
        if json_client:
            return json_error(400, error.code, error.message, error.field)
        form = PollEditForm(
            initial=PollEditForm.current_data(poll).dict(), poll=poll, locked=locked
        )
        context = {**edit_context(request, poll, form), "body_error": error.message}
        return render(request, template, context, status=400)

    form = PollEditForm.merged(poll, payload, locked=locked)
    if not json_client and "add_option" in payload and not locked:
        # Without JavaScript, "Add option" posts the form back for one more empty field.
        unbound = PollEditForm(initial=form.data.dict(), poll=poll, locked=locked)
        values = [*form.data.getlist("options"), ""]
        return render(request, "polls/poll_edit.html", edit_context(request, poll, unbound, values))
    if form.is_valid():
        try:
            services.poll_update(poll=poll, **form.service_arguments())
        except services.OptionsLocked:  # the first vote arrived while the owner was editing
            form.locked = True
            form.add_error("options", OPTIONS_LOCKED)
    if not form.is_valid():
        if json_client:
            field, errors = next(iter(form.errors.as_data().items()))
            code = "options_locked" if errors[0].code == "locked" else "invalid"
            return json_error(400, code, errors[0].messages[0], field)
        return render(request, template, edit_context(request, poll, form), status=400)

    if json_client:
        return JsonResponse(poll_document(poll))
    messages.success(request, "Your changes are saved.")
    if request.htmx:
        return HttpResponseClientRedirect(poll.get_absolute_url())
    return see_other(poll.get_absolute_url())


def owner_state_changed(request, poll: Poll, message: str):
    """Answer a close or reopen: results JSON, the updated panels, or a redirect back."""
    if is_json_request(request):
        tally = selectors.poll_tally(poll=poll)
        return JsonResponse(selectors.results_json(poll=poll, tally=tally, visible=True))
    if request.htmx:
        context = {
            **poll_context(request, poll),
            "owner_message": message,
            "owner_return": back_to(request, poll.get_absolute_url()),
            "oob": True,
        }
        return render(request, "polls/poll_detail.html#owner-update", context)
    messages.success(request, message)
    return see_other(back_to(request, poll.get_absolute_url()))


@require_POST
@owner_only
def close(request, poll):
    services.poll_close(poll=poll)
    return owner_state_changed(request, poll, "The poll is closed; these are its final results.")


@require_POST
@owner_only
def reopen(request, poll):
    services.poll_reopen(poll=poll)
    return owner_state_changed(request, poll, "The poll is open for votes again.")


@require_http_methods(["GET", "POST"])
@owner_only
def delete(request, poll):
    if request.method == "GET":
        votes = selectors.poll_tally(poll=poll).total_votes
        return render(request, "polls/poll_delete.html", {"poll": poll, "votes": votes})
    question = poll.question
    services.poll_delete(poll=poll)
    if is_json_request(request):
        return HttpResponse(status=204)
    messages.success(request, f"Deleted “{question}”.")
    destination = (
        reverse("accounts:my-polls") if request.user.is_authenticated else reverse("polls:home")
    )
    if request.htmx:
        return HttpResponseClientRedirect(destination)
    return see_other(destination)


@require_POST
@owner_only
def comment_remove(request, poll, ballot_id):
    get_object_or_404(Ballot.objects.only("pk"), pk=ballot_id, poll=poll)
    services.comment_remove(poll=poll, ballot_id=ballot_id)
    if is_json_request(request):
        return JsonResponse({"removed": True, "ballot_id": ballot_id})
    if request.htmx:
        return HttpResponse("")  # the button's hx-swap="delete" takes the comment away
    messages.success(request, "The comment is removed.")
    return see_other(poll.get_absolute_url() + "#comments")
