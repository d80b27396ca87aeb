"""The signed-in user's polls, each with a vote count that follows the votes live."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from polls import selectors

MY_POLLS_PER_PAGE = 50


@require_GET
@login_required
def my_polls(request):
    page = Paginator(selectors.owner_polls(user=request.user), MY_POLLS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    counts = selectors.poll_vote_counts(poll_ids=[poll.pk for poll in page])
    rows = [(poll, counts[poll.pk]) for poll in page]
    return render(request, "polls/my_polls.html", {"page": page, "rows": rows})
