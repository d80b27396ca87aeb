"""The polls of the JSON API: list, create, read, change, close, reopen, delete, vote,
results and comments (routes), the documents they answer with (schemas), and cursors."""

from core.api_errors import ErrorBody, refusals
from polls.api.paging import decode_cursor, encode_cursor, keyset_page
from polls.api.routes import CODE_PATTERN, build_router, router

__all__ = [
    "CODE_PATTERN",
    "ErrorBody",
    "build_router",
    "decode_cursor",
    "encode_cursor",
    "keyset_page",
    "refusals",
    "router",
]
