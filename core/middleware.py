"""Request-wide answers to failures: rate limits and database outages."""

import logging

from django.db import DatabaseError, InterfaceError, OperationalError

from core.ratelimit import RateLimited

logger = logging.getLogger(__name__)


class RateLimitedMiddleware:
    """Answer 429 with Retry-After wherever a view's rate limit raised RateLimited."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, RateLimited):
            return None
        from core.views import rate_limited

        return rate_limited(request, exception.retry_after)


class DatabaseUnavailableMiddleware:
    """Answer 503 "try again" when the database is down or overloaded; nothing is half-written."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError) and not (
            isinstance(exception, DatabaseError) and "pool" in type(exception).__name__.lower()
        ):
            return None
        logger.warning("Database unavailable for %s: %s", request.path, exception)
        from core.views import service_unavailable

        return service_unavailable(request)
