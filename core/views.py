from django.http import JsonResponse
from django.shortcuts import render
from django.views.csrf import csrf_failure as django_csrf_failure
from django_htmx.http import reswap, retarget

from core.http import is_json_request, json_error

RETRY_AFTER_SECONDS = 2


def error_response(request, *, status, code, message, page, retry_after=None):
    """Answer a refusal in the client's terms: JSON, an htmx notice, or a whole page.

    An htmx notice replaces the page's #notice region, so the form the user was filling
    in stays where it is.
    """
    headers = {"Retry_After": str(retry_after)} if retry_after else {}
    if is_json_request(request):
        return json_error(status, code, message, **headers)
    if request.headers.get("HX-Request"):
        context = {"message": message, "home_link": status == 404}
        response = render(request, "core/error_fragment.html", context, status=status)
        retarget(response, "#notice")
        reswap(response, "outerHTML")
    else:
        response = render(request, page, {"message": message}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def not_found(request, exception=None):
    return error_response(
        request,
        status=404,
        code="not_found",
        message="We could not find that poll or page: the link may be mistyped, or it was deleted.",
        page="404.html",
    )


def server_error(request):
    if is_json_request(request):
        return json_error(500, "server_error", "Something went wrong on our side.")
    return render(request, "500.html", status=500)


def service_unavailable(request):
    return error_response(
        request,
        status=503,
        code="unavailable",
        message="Tally is busy right now. Nothing was saved; please try again in a moment.",
        page="503.html",
        retry_after=RETRY_AFTER_SECONDS,
    )


def rate_limited(request, retry_after: int):
    return error_response(
        request,
        status=429,
        code="rate_limited",
        message=f"Too many requests. Try again in {retry_after} seconds.",
        page="429.html",
        retry_after=retry_after,
    )


def csrf_failure(request, reason=""):
    if is_json_request(request):
        return json_error(
            403, "csrf_failed", "Send the csrftoken cookie's value in the X-CSRFToken header."
        )
    return django_csrf_failure(request, reason)


def health(request):
    return JsonResponse({"status": "ok"})
