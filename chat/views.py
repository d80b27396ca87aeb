"""Pages of the chat app: search over listed polls, by meaning and by words."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from chat.search import search_polls
from core.ratelimit import ratelimit_hit
from core.security import client_ip


@require_GET
def search(request):
    query = request.GET.get("q", "").strip()[:200]
    if query:
        ratelimit_hit(scope="search-ip", ident=client_ip(request))
    tag = request.GET.get("tag", "").strip()[:40]
    results = search_polls(query=query, tag=tag)
    template = "chat/search.html#results" if request.htmx else "chat/search.html"
    context = {
        "query": query,
        "tag": tag,
        "polls": results.polls,
        "warming_up": results.warming_up,
    }
    return render(request, template, context)
