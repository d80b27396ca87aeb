"""What only a poll's owner may do: edit, close, reopen, delete, remove a comment."""

import functools

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from core.http import BadRequest, is_json_request, json_error, read_payload, redirect_after_post
from core.views import bad_request_response, error_response
from polls import selectors, services
from polls.forms import ANONYMITY_LOCKED, MAX_OPTIONS, OPTIONS_LOCKED, PollEditForm
from polls.models import Ballot, Poll
from polls.views.pages import is_owner, poll_context
from polls.visibility import poll_or_404


def owner_only(view):
    """Look the poll up (404 if unknown) and let only its owner through (403 otherwise)."""

    @functools.wraps(view)
    def wrapper(request, code, **kwargs):
        poll = poll_or_404(request, code)
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
        "vote_changes": poll.vote_changes,
        "anonymous": poll.anonymous,
        "results_revealed": poll.results_revealed,
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
        payload = read_payload(request, list_fields=("options",), flag_fields=("anonymous",))
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
        except services.AnonymityLocked:
            form.locked = True
            form.add_error("anonymous", ANONYMITY_LOCKED)
    if not form.is_valid():
        if json_client:
            field, errors = next(iter(form.errors.as_data().items()))
            code = "options_locked" if errors[0].code == "locked" else "invalid"
            return json_error(400, code, errors[0].messages[0], field)
        return render(request, template, edit_context(request, poll, form), status=400)

    if not json_client:
        messages.success(request, "Your changes are saved.")
    return redirect_after_post(request, poll.get_absolute_url(), json=poll_document(poll))


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
    return redirect_after_post(request, back_to(request, poll.get_absolute_url()))


@require_POST
@owner_only
def close(request, poll):
    services.poll_close(poll=poll, actor=request.user)
    return owner_state_changed(request, poll, "The poll is closed; these are its final results.")


@require_POST
@owner_only
def reopen(request, poll):
    services.poll_reopen(poll=poll, actor=request.user)
    return owner_state_changed(request, poll, "The poll is open for votes again.")


@require_http_methods(["GET", "POST"])
@owner_only
def delete(request, poll):
    if request.method == "GET":
        votes = selectors.poll_tally(poll=poll).total_votes
        return render(request, "polls/poll_delete.html", {"poll": poll, "votes": votes})
    question = poll.question
    services.poll_delete(poll=poll, actor=request.user)
    if is_json_request(request):
        return HttpResponse(status=204)
    messages.success(request, f"Deleted “{question}”.")
    destination = (
        reverse("polls:my-polls") if request.user.is_authenticated else reverse("polls:home")
    )
    return redirect_after_post(request, destination)


@require_POST
@owner_only
def comment_remove(request, poll, ballot_id):
    get_object_or_404(Ballot.objects.only("pk"), pk=ballot_id, poll=poll)
    services.comment_remove(poll=poll, ballot_id=ballot_id, actor=request.user)
    if is_json_request(request):
        return JsonResponse({"removed": True, "ballot_id": ballot_id})
    if request.htmx:
        return HttpResponse("")  # the button's hx-swap="delete" takes the comment away
    messages.success(request, "The comment is removed.")
    return redirect_after_post(request, poll.get_absolute_url() + "#comments")


@require_POST
@owner_only
def reveal(request, poll):
    """Show the results to everyone now (revealed=1) or return to the setting (revealed=0)."""
    try:
        value = read_payload(request).get("revealed", "")
        if value not in ("0", "1", "true", "false"):
            raise BadRequest(
                "invalid", "Send revealed=1 to show the results, 0 to hide.", "revealed"
            )
    except BadRequest as error:
        return bad_request_response(request, error)
    revealed = value in ("1", "true")
    services.poll_reveal(poll=poll, revealed=revealed)
    message = (
        "Everyone sees the results now."
        if revealed
        else "The results follow the poll's setting again."
    )
    if is_json_request(request):
        tally = selectors.poll_tally(poll=poll)
        return JsonResponse(selectors.results_json(poll=poll, tally=tally, visible=True))
    if request.htmx:
        context = {"poll": poll, "can_reveal": True, "reveal_message": message}
        return render(request, "polls/present.html#reveal-control", context)
    messages.success(request, message)
    return redirect_after_post(request, back_to(request, poll.get_absolute_url()))
