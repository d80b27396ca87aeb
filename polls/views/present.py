"""The presenter view: a poll's live results full-window, for a projector or a stream."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from polls.models import Poll
from polls.sharing.opengraph import opengraph
from polls.views.pages import poll_context
from polls.visibility import poll_or_404


@require_GET
def present(request, code):
    """Big live bars, the join link and its QR code; what this browser may see, no more."""
    poll = poll_or_404(request, code)
    context = poll_context(request, poll)
    poll_url = request.build_absolute_uri(poll.get_absolute_url())
    context.update(
        {
            "present": True,
            "og": opengraph(request, poll, tally=context["tally"]),
            "poll_url": poll_url,
            "join_text": poll_url.split("://", 1)[-1],
            "can_reveal": context["is_owner"]
            and (poll.results_revealed or poll.results_visibility != Poll.ResultsVisibility.ALWAYS),
        }
    )
    return render(request, "polls/present.html", context)
