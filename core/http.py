"""Reading request bodies, and answering HTML, htmx and JSON clients each in their terms."""

import json
import re
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpResponseRedirect, JsonResponse, QueryDict
from django.http.request import RawPostDataException
from django_htmx.http import HttpResponseClientRedirect


@dataclass
class BadRequest(Exception):
    """The request body is unusable as a whole or in one field."""

    code: str
    message: str
    field: str | None = None


@dataclass
class Refused(Exception):
    """A refusal with its status, answered with the error body (the JSON API raises these)."""

    status: int
    code: str
    message: str
    field: str | None = None
    headers: dict[str, str] | None = None


def note_ratelimit(request, state) -> None:
    """Keep the tightest rate-limit window this request counted against, for its headers."""
    current = getattr(request, "ratelimit_state", None)
    if state is not None and (current is None or state.remaining < current.remaining):
        request.ratelimit_state = state


def ratelimit_headers(*, limit: int, remaining: int, reset: int) -> dict[str, str]:
    """The RateLimit-* headers: the window's size, what is left of it and when it resets."""
    return {
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(max(0, remaining)),
        "RateLimit-Reset": str(reset),
    }


def add_ratelimit_headers(response, request):
    """Put the RateLimit-* headers of the tightest window the request counted on the answer."""
    state = getattr(request, "ratelimit_state", None)
    if state is not None:
        headers = ratelimit_headers(limit=state.limit, remaining=state.remaining, reset=state.reset)
        for name, value in headers.items():
            response[name] = value
    return response


def is_json_request(request) -> bool:
    """Whether the client speaks JSON (sent a JSON body or asked for JSON back)."""
    if request.content_type == "application/json":
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_body(code: str, message: str, field: str | None = None) -> dict:
    error = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"error": error}


def json_error(status: int, code: str, message: str, field: str | None = None, **headers):
    response = JsonResponse(error_body(code, message, field), status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _jsonable_scalar(value) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError
    return str(value)


def read_payload(
    request, *, list_fields: tuple[str, ...] = (), flag_fields: tuple[str, ...] = ()
) -> QueryDict:
    """Return the body's fields as a QueryDict, whether it came as a form or as JSON.

    JSON values must be strings (or integers); the names in list_fields may also hold a
    list of them, and those in flag_fields true or false (read as a checkbox's "on" or
    "off"). Anything else is refused naming the field at fault.
    """
    if request.content_type == "application/json":
        try:
            # Integers are kept as their digits: ids and text alike are used as strings, and
            # Python refuses to convert integers of more than 4,300 digits.
            data = json.loads(request.body or b"null", parse_int=str)
        except RequestDataTooBig:
            raise BadRequest("too_large", "The request body is too large.") from None
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("invalid_json", "The body is not valid JSON.") from None
        except RecursionError:
            raise BadRequest("invalid_json", "The body is nested too deeply.") from None
        if not isinstance(data, dict):
            raise BadRequest("invalid_json", "The body must be a JSON object.")
        payload = QueryDict(mutable=True)
        for name, value in data.items():
            if value is None:
                continue
            try:
                if isinstance(value, bool) and name in flag_fields:
                    payload[name] = "on" if value else "off"
                elif isinstance(value, list) and name in list_fields:
                    payload.setlist(name, [_jsonable_scalar(item) for item in value])
                else:
                    payload[name] = _jsonable_scalar(value)
            except TypeError:
                kind = "a list of strings" if name in list_fields else "a string"
                raise BadRequest("invalid", f"“{name}” must be {kind}.", name) from None
        return payload
    try:
        with suppress(RawPostDataException):  # the CSRF check has parsed the form already
            # Keep the raw body: a multipart parse consumes the stream, and naming the field
            # sent too many times needs the body.
            request.body  # noqa: B018
        return request.POST.copy()
    except RequestDataTooBig:
        raise BadRequest("too_large", "The request body is too large.") from None
    except TooManyFieldsSent:
        try:
            counts = Counter(_field_names(request))
        except RawPostDataException:
            counts = Counter()
        field = counts.most_common(1)[0][0] if counts else None
        raise BadRequest("too_many_fields", "Too many values were sent.", field) from None


MULTIPART_NAME = re.compile(r'^content-disposition:\s*form-data;\s*name="([^"]*)"', re.I | re.M)


def _field_names(request) -> list[str]:
    """The names of the fields in a form body, repeated as often as they were sent."""
    body = request.body.decode("latin-1")
    if request.content_type == "multipart/form-data":
        return [
            name.encode("latin-1").decode("utf-8", "replace")
            for name in MULTIPART_NAME.findall(body)
        ]
    return [name for name, _ in parse_qsl(body, keep_blank_values=True)]


def see_other(url: str) -> HttpResponseRedirect:
    """Redirect with 303, so that a browser follows a form post with a GET."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def redirect_after_post(request, url: str, *, json: dict | None = None, status: int = 200):
    """End a successful post: JSON for a JSON client (when there is a document to give),
    a client-side redirect for htmx, and 303 for a plain form."""
    if json is not None and is_json_request(request):
        return JsonResponse(json, status=status)
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return see_other(url)


def site_root(request) -> str:
    """Where absolute links made for this request point (QR codes, unfurls, emails):
    SITE_URL where it is set (a proxy may hide the public host), else this request's."""
    return settings.SITE_URL or f"{request.scheme}://{request.get_host()}"
