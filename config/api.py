"""Tally's JSON API v1: one NinjaAPI, the apps' routers, and the pages' error body.

Every refusal, ninja's own included (schema validation, unparsable bodies, unknown
routes), is answered as the pages answer JSON clients: its status with
{"error": {"code", "message", "field"?}}. Rate-limited operations carry RateLimit-*
headers; a 429 also carries Retry-After.
"""

import json
import logging

from django.db import InterfaceError, OperationalError
from django.http import Http404, RawPostDataException
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError
from ninja.parser import Parser

from accounts.api import api_auth
from chat import api as chat_api
from chat.search import search_polls
from circles import api as circles_api
from core.http import Refused, add_ratelimit_headers, json_error, ratelimit_headers
from core.ratelimit import RateLimited
from core.views import RETRY_AFTER_SECONDS
from notifications import api as notifications_api
from polls import api as polls_api

logger = logging.getLogger(__name__)

DESCRIPTION = """
Tally's polls for programs: create and manage polls, vote, read results and comments,
ask a poll a question (streamed as server-sent events), read your notifications, and list,
create and read the members of your circles (private groups whose polls only members reach).

**Authentication.** Send a personal token from `/accounts/tokens/` as
`Authorization: Bearer <token>`, or an anonymous voter token (from `POST /voter-token`)
as `X-Voter-Token`; both are exempt from CSRF and ignore cookies. A browser may use its
session cookie instead, with the `csrftoken` cookie's value in `X-CSRFToken` on changes.

**Errors.** Every refusal has a 4xx (or 503) status and the body
`{"error": {"code": "...", "message": "...", "field": "..."}}` (`field` only where one
field is at fault).
"""


class BodyParser(Parser):
    """JSON bodies, refused as the pages refuse them when they are not a JSON object."""

    def parse_body(self, request):
        try:
            data = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise Refused(400, "invalid_json", "The body is not valid JSON.") from None
        except RecursionError:
            raise Refused(400, "invalid_json", "The body is nested too deeply.") from None
        if not isinstance(data, dict):
            raise Refused(400, "invalid_json", "The body must be a JSON object.")
        return data


class TallyAPI(NinjaAPI):
    def create_response(self, request, data, *, status=None, temporal_response=None):
        response = super().create_response(
            request, data, status=status, temporal_response=temporal_response
        )
        return add_ratelimit_headers(response, request)


api = TallyAPI(
    title="Tally API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=api_auth(),
    parser=BodyParser(),
)


def refusal(request, status, code, message, field=None, headers=None):
    response = json_error(status, code, message, field)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(Refused)
def refused(request, exc: Refused):
    return refusal(request, exc.status, exc.code, exc.message, exc.field, exc.headers)


def field_of(loc) -> str | None:
    """The client's name for the field at fault: a body property, a query or header name."""
    parts = [part for part in loc if isinstance(part, str)]
    # After the source, a body's parameter name is not the client's business.
    parts = parts[2:] if parts and parts[0] == "body" else parts[1:]
    return parts[0] if parts else None


@api.exception_handler(ValidationError)
def invalid(request, exc: ValidationError):
    error = exc.errors[0] if exc.errors else {}
    field = field_of(error.get("loc", ()))
    message = error.get("msg", "This value is not allowed.")
    if field is None:
        return refusal(request, 400, "invalid_json", "The body must be a JSON object.")
    return refusal(request, 400, "invalid", f"“{field}”: {message}.", field)


@api.exception_handler(RawPostDataException)
def form_body(request, exc):
    """A form body, already read as a form by the CSRF check: the API takes JSON only."""
    return refusal(
        request, 415, "unsupported_media_type", "Send the body as JSON (application/json)."
    )


@api.exception_handler(Http404)
def not_found(request, exc):
    return refusal(request, 404, "not_found", "There is no poll (or item) at this address.")


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    if isinstance(exc.__cause__, Refused):  # ninja wraps what the body parser raised
        return refused(request, exc.__cause__)
    code = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found"}
    return refusal(request, exc.status_code, code.get(exc.status_code, "refused"), exc.message)


@api.exception_handler(RateLimited)
def rate_limited(request, exc: RateLimited):
    headers = {
        "Retry-After": str(exc.retry_after),
        **ratelimit_headers(limit=exc.limit, remaining=0, reset=exc.retry_after),
    }
    message = f"Too many requests. Try again in {exc.retry_after} seconds."
    return refusal(request, 429, "rate_limited", message, headers=headers)


def unavailable(request, exc):
    logger.warning("Database unavailable for %s: %s", request.path, exc)
    message = "Tally is busy right now. Nothing was saved; please try again in a moment."
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return refusal(request, 503, "unavailable", message, headers=headers)


api.add_exception_handler(OperationalError, unavailable)
api.add_exception_handler(InterfaceError, unavailable)

# polls stays below chat in the layers, so it is handed chat's search (the one /search
# uses) here rather than importing it: GET and POST /polls must share one router.
api.add_router("", polls_api.build_router(search=search_polls))
api.add_router("", chat_api.router)
api.add_router("", notifications_api.router)
api.add_router("", circles_api.router)


def unknown_route(request, rest=""):
    """Any other address under /api/v1/: the error body, not the site's HTML 404 page."""
    return json_error(404, "not_found", "There is no such API endpoint; see /api/v1/docs.")
