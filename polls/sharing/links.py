"""Absolute links to a poll, for QR codes, unfurls and embed snippets."""

from core.http import site_root
from polls import selectors
from polls.models import Poll


def absolute(request, path: str) -> str:
    return site_root(request) + path


def poll_link(request, poll: Poll, *, source: str = "") -> str:
    """The poll's public link; `source` tells where it was opened from (`?src=qr`)."""
    link = absolute(request, poll.get_absolute_url())
    return f"{link}?src={source}" if source else link


def publicly_visible(poll: Poll) -> bool:
    """Whether a stranger who has not voted sees the numbers: what a card or an unfurl may
    show, since anyone who is sent the link sees them."""
    return selectors.results_visible(poll=poll, has_voted=False, is_owner=False)
