"""Reporting a poll: the form on every poll page posts here."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from core.http import BadRequest, is_json_request, json_error, read_payload, redirect_after_post
from core.ratelimit import ratelimit_hit
from core.views import bad_request_response
from core.voters import voter_from_request
from moderation import services
from moderation.forms import ReportForm
from moderation.models import Reason
from polls.visibility import poll_or_404

PANEL = "moderation/report_form.html"
THANKS = "Thank you: moderators will look at this poll."
ALREADY = "You have reported this poll already; moderators will look at it."


@require_POST
def report(request, code):
    poll = poll_or_404(request, code)
    voter = voter_from_request(request)
    ratelimit_hit(scope="report-ip", ident=voter.ip)
    try:
        form = ReportForm(read_payload(request))
        if not form.is_valid():
            field, errors = next(iter(form.errors.items()))
            raise BadRequest("invalid", errors[0], field)
    except BadRequest as error:
        if request.htmx:
            context = {"poll": poll, "report_form": form, "report_reasons": Reason.choices}
            return render(request, PANEL, context, status=400)
        return bad_request_response(request, error)
    try:
        services.report_create(
            poll=poll,
            voter=voter,
            reason=form.cleaned_data["reason"],
            details=form.cleaned_data["details"],
        )
    except services.AlreadyReported:
        if is_json_request(request):
            return json_error(409, "already_reported", ALREADY)
        status, message = 409, ALREADY
    else:
        if is_json_request(request):
            return JsonResponse({"reported": True, "message": THANKS}, status=201)
        status, message = 201, THANKS
    if request.htmx:
        return render(request, PANEL, {"poll": poll, "report_message": message}, status=status)
    messages.info(request, message)
    return redirect_after_post(request, poll.get_absolute_url())
