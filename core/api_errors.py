"""The JSON API's error body as its schema documents it, shared by every app's router."""

from ninja import Schema


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None = None


class ErrorBody(Schema):
    error: ErrorDetail


def refusals(*statuses: int) -> dict:
    """Document the error body under each status an operation may refuse with."""
    return dict.fromkeys({400, 401, 403, 404, 503, *statuses}, ErrorBody)
