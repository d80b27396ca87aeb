"""Question templates: the library (/templates/), and saving a poll as one's own."""

from django.contrib import messages
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.http import redirect_after_post
from core.views import error_response
from polls.models import PollTemplate
from polls.services.templates import template_from_poll, templates_for
from polls.views.owner import owner_only

CATEGORIES = [(value, label) for value, label in PollTemplate.Category.choices if value != "mine"]


@require_GET
def template_list(request):
    """Popular first; filtered by ?category=; the user's own templates apart, on top."""
    category = request.GET.get("category", "")
    if category not in dict(CATEGORIES):
        category = ""
    starters = PollTemplate.objects.filter(owner__isnull=True)
    if category:
        starters = starters.filter(category=category)
    mine = []
    if request.user.is_authenticated:
        mine = list(templates_for(request.user).filter(owner=request.user))
    context = {
        "categories": CATEGORIES,
        "category": category,
        "starters": list(starters),
        "mine": mine,
    }
    return render(request, "polls/template_list.html", context)


@require_POST
@owner_only
def save_template(request, poll):
    if not request.user.is_authenticated:
        return error_response(
            request,
            status=403,
            code="login_required",
            message="Log in to keep templates: they are saved to your account.",
            page="polls/forbidden.html",
        )
    template = template_from_poll(poll=poll, user=request.user)
    messages.success(request, f"Saved “{template.title}” to your templates.")
    url = reverse("polls:templates")
    return redirect_after_post(
        request,
        url,
        json={"id": template.pk, "use_url": f"/create?template={template.pk}"},
        status=201,
    )
