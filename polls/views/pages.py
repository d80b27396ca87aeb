"""The home page, creating a poll, and a poll's own pages: the poll and its results.

Sharing (the share page, QR codes, the result card) lives in polls/views/share.py."""

from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from core.http import BadRequest, is_json_request, json_error, read_payload, redirect_after_post
from core.ratelimit import ratelimit_hit
from core.security import client_ip
from core.voters import voter_from_request
from polls import frames, page_state, selectors, services
from polls.forms import MAX_OPTIONS, PollCreateForm, VoteForm
from polls.models import Poll
from polls.services import VoteResult
from polls.services.templates import template_used, templates_for
from polls.sharing.opengraph import opengraph
from polls.viewers import viewer_count
from polls.visibility import poll_or_404

DEFAULT_OPTION_FIELDS = 3
VOTE_MESSAGES = {
    VoteResult.ACCEPTED: "Your vote is in.",
    VoteResult.ALREADY_VOTED: "You already voted on this poll.",
    VoteResult.CLOSED: "This poll is closed.",
    VoteResult.LOGIN_REQUIRED: "Sign in to vote on this poll.",
    VoteResult.OPTIONS_CHANGED: "This poll's options just changed: please choose again.",
    VoteResult.CHANGED: "Your vote is changed.",
    VoteResult.WITHDRAWN: "Your vote is withdrawn. You can vote again while the poll is open.",
    VoteResult.NOT_VOTED: "You have no vote on this poll to withdraw.",
    VoteResult.CHANGES_NOT_ALLOWED: "Votes on this poll are final: they cannot be changed.",
}


def is_owner(request, poll: Poll) -> bool:
    return selectors.is_poll_owner(poll=poll, voter=voter_from_request(request))


def poll_context(request, poll: Poll, *, your_vote=None, message="") -> dict:
    """Everything the poll page and its fragments need to render for this browser."""
    options = list(poll.options.all())
    version = frames.tally_version()  # before the read: a later state always has a later one
    context = page_state.viewer_state(
        poll=poll,
        voter=voter_from_request(request),
        signed_in=request.user.is_authenticated,
        your_vote=your_vote,
        message=message,
        options=options,
    )
    context.update(
        {
            "vote_form": VoteForm(poll=poll, options=options),
            "version": version,
            "viewers": viewer_count(poll.pk),
        }
    )
    return context


# Home and creating polls


def home_context(request, form=None, option_values=None) -> dict:
    if option_values is None:
        option_values = form.data.getlist("options") if form is not None and form.data else []
    option_values = option_values + [""] * (DEFAULT_OPTION_FIELDS - len(option_values))
    return {
        "form": form or PollCreateForm(user=request.user),
        "option_values": option_values[:MAX_OPTIONS],
        "max_options": MAX_OPTIONS,
        "recent_polls": selectors.recent_public_polls(),
    }


@require_GET
def home(request):
    return render(request, "polls/home.html", home_context(request))


def create_from_template(request):
    """/create?template=<id>: the create form filled in from a template; /create?circle=
    <slug> with that circle chosen; a bare /create is the home page's form."""
    template_id = request.GET.get("template", "")
    circle = request.GET.get("circle", "")[:90]
    if not template_id and circle:
        form = PollCreateForm(initial={"circle": circle}, user=request.user)
        return render(request, "polls/home.html", home_context(request, form))
    if not template_id:
        return redirect(reverse("polls:home") + "#create")
    template = (
        templates_for(request.user).filter(pk=template_id).first()
        if template_id.isdigit()
        else None
    )
    if template is None:
        raise Http404("No such template")
    initial = {
        "question": template.question,
        "description": template.description,
        **template.form_settings,
    }
    form = PollCreateForm(initial={**initial, "circle": circle}, user=request.user)
    context = home_context(request, form, list(template.options))
    context["template"] = template
    return render(request, "polls/home.html", context)


@require_GET
def option_field(request):
    """One more option input for the create form (the "Add option" button)."""
    try:
        number = max(1, min(int(request.GET.get("n", "1")), 20))
    except ValueError:
        number = 1
    return render(request, "polls/home.html#option-input", {"number": number, "value": ""})


@require_http_methods(["GET", "HEAD", "POST"])
def create(request):
    if request.method != "POST":
        return create_from_template(request)
    json_client = is_json_request(request)
    ratelimit_hit(scope="create-ip", ident=client_ip(request))
    try:
        payload = read_payload(request, list_fields=("options",), flag_fields=("anonymous",))
    except BadRequest as error:
        if json_client:
            return json_error(400, error.code, error.message, error.field)
        return render(
            request,
            "polls/home.html#create-form" if request.htmx else "polls/home.html",
            {**home_context(request), "body_error": error.message},
            status=400,
        )

    form = PollCreateForm(payload, user=request.user)
    if not json_client and "add_option" in payload:
        # Without JavaScript, "Add option" posts the form back for one more empty field.
        unbound = PollCreateForm(
            initial={name: payload.get(name) for name in form.fields}, user=request.user
        )
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
    if payload.get("template", "").isdigit():
        template_used(template_id=int(payload["template"]), user=request.user)
    share_url = reverse("polls:share", kwargs={"code": poll.code})
    document = {"code": poll.code, "url": poll.get_absolute_url(), "share_url": share_url}
    return redirect_after_post(request, share_url, json=document, status=201)


# A poll's pages


@require_GET
def detail(request, code):
    poll = poll_or_404(request, code)
    context = poll_context(request, poll)
    # After a plain form post: ?voted=1 (a new vote), =changed or =withdrawn.
    outcome = {"1": VoteResult.ACCEPTED, "changed": VoteResult.CHANGED}.get(
        request.GET.get("voted", "")
    )
    if outcome is not None and context["your_vote"] is not None:
        context["message"] = VOTE_MESSAGES[outcome]
        context["vote_result"] = outcome.value
    elif request.GET.get("voted") == "withdrawn" and context["your_vote"] is None:
        context["message"] = VOTE_MESSAGES[VoteResult.WITHDRAWN]
        context["vote_result"] = VoteResult.WITHDRAWN.value
    if request.htmx and not request.htmx.boosted:
        return render(request, "polls/poll_detail.html#tally", context)
    context["comments"] = selectors.recent_comments(poll=poll)
    context["og"] = opengraph(request, poll, tally=context["tally"])
    return render(request, "polls/poll_detail.html", context)


@require_GET
def results(request, code):
    poll = poll_or_404(request, code)
    context = poll_context(request, poll)
    body = selectors.results_json(
        poll=poll, tally=context["tally"], visible=context["results_visible"]
    )
    return JsonResponse(body)
