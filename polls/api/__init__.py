"""The polls of the JSON API: list, create, read, change, close, reopen, delete, vote,
results and comments (routes), the documents they answer with (schemas), and cursors."""

from polls.api.paging import decode_cursor, encode_cursor, keyset_page
from polls.api.routes import CODE_PATTERN, build_router, router
from polls.api.schemas import ErrorBody, refusals

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
