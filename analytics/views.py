"""The owner's analytics page (HTML, its live fragment, JSON) and the results CSV."""

from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from analytics import selectors
from core.http import is_json_request
from polls.views.owner import owner_only


@require_GET
@owner_only
def poll_analytics(request, poll):
    """Opens by source, votes over time, conversion and comments, for the poll's owner."""
    report = selectors.poll_report(poll=poll)
    if is_json_request(request):
        return JsonResponse(report.as_json())
    context = {"poll": poll, "report": report, "chart": selectors.chart_frame()}
    if request.htmx:
        return render(request, "analytics/analytics.html#stats", context)
    return render(request, "analytics/analytics.html", context)


@require_GET
@owner_only
def results_csv(request, poll):
    """The results and every ballot as CSV, streamed."""
    response = StreamingHttpResponse(
        selectors.results_csv_lines(poll=poll), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="tally-{poll.code}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
