"""A circle's page: its members and invite (from circles) and its polls.

It lives in polls because it lists polls, and circles sits below polls in the layers.
"""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from circles.views import circle_context, member_circle_or_404
from polls import selectors


@require_GET
def circle_detail(request, slug: str):
    circle, membership = member_circle_or_404(request, slug)
    context = circle_context(request, circle, membership)
    context["polls"] = selectors.circle_polls(circle=circle)
    return render(request, "circles/detail.html", context)
