from django.http import JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
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


def bad_request_response(request, error):
    """Answer a core.http.BadRequest in the client's terms, JSON naming the field at fault."""
    if is_json_request(request):
        return json_error(400, error.code, error.message, error.field)
    return error_response(
        request, status=400, code=error.code, message=error.message, page="core/bad_request.html"
    )


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


RESEND_MESSAGE = (
    "Nothing was sent yet: you signed in or out in another tab, which renewed this page's"
    " security check. Check what you entered and send it again."
)
# Fields never carried over to the resend page: the old token, and secrets.
NOT_KEPT = ("csrfmiddlewaretoken", "password")


def csrf_failure(request, reason=""):
    """Answer a form sent with an out-of-date token with Tally's own page, not Django's.

    A view may offer its own page for this (its `resend_after_stale_token` attribute, a
    view taking the request); otherwise the page keeps what was typed (except passwords) and
    sends it again with a fresh token in one click.
    """
    if is_json_request(request):
        return json_error(
            403, "csrf_failed", "Send the csrftoken cookie's value in the X-CSRFToken header."
        )
    try:
        match = resolve(request.path_info)
    except Resolver404:
        match = None
    resend = getattr(match.func, "resend_after_stale_token", None) if match else None
    if resend is not None:
        return resend(request, *match.args, **match.kwargs)
    if request.headers.get("HX-Request"):
        return error_response(
            request, status=403, code="stale_token", message=RESEND_MESSAGE, page=""
        )
    fields = [
        (name, value)
        for name, values in request.POST.lists()
        if not any(secret in name for secret in NOT_KEPT)
        for value in values
    ]
    has_secret = any("password" in name for name in request.POST)
    context = {
        "message": RESEND_MESSAGE,
        "action": request.path if request.method == "POST" and not has_secret else "",
        "fields": fields,
        "back": request.path,
    }
    return render(request, "core/stale_token.html", context, status=403)


def health(request):
    return JsonResponse({"status": "ok"})
