from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from core.http import is_json_request, json_error

RETRY_AFTER_SECONDS = 2


def not_found(request, exception=None):
    if is_json_request(request):
        return json_error(404, "not_found", "There is no such page or poll.")
    return render(request, "404.html", status=404)


def server_error(request):
    if is_json_request(request):
        return json_error(500, "server_error", "Something went wrong on our side.")
    return render(request, "500.html", status=500)


def service_unavailable(request):
    message = "Tally is busy right now. Please try again in a moment."
    if is_json_request(request):
        return json_error(503, "unavailable", message, Retry_After=str(RETRY_AFTER_SECONDS))
    template = "core/unavailable_fragment.html" if request.headers.get("HX-Request") else "503.html"
    response = render(request, template, {"message": message}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def health(request):
    return JsonResponse({"status": "ok"})


def health_ready(request):
    """Check the database, the channel layer and the broker; 503 when any is down."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from config.celery import app as celery_app

    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"error: {type(error).__name__}"
    try:
        layer = get_channel_layer()
        async_to_sync(layer.group_send)("health", {"type": "health.check"})
        checks["channel_layer"] = "ok"
    except Exception as error:
        checks["channel_layer"] = f"error: {type(error).__name__}"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception as error:
        checks["broker"] = f"error: {type(error).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )
