"""Request-wide answers to failures: rate limits, database and Redis outages."""

import logging

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError

from core.cache import CacheUnavailable
from core.ratelimit import RateLimited

logger = logging.getLogger(__name__)


class PermissionsPolicyMiddleware:
    """Send settings.PERMISSIONS_POLICY with every response (Django has no setting for it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


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


def _outage_errors() -> tuple:
    """Errors that mean a service Tally needs is down: Redis, or the Celery broker."""
    import kombu.exceptions
    import redis

    return (redis.RedisError, kombu.exceptions.OperationalError, CacheUnavailable)


def is_outage(exception: BaseException) -> bool:
    if isinstance(exception, OperationalError | InterfaceError):
        return True
    if isinstance(exception, DatabaseError) and "pool" in type(exception).__name__.lower():
        return True
    return isinstance(exception, _outage_errors())


class DatabaseUnavailableMiddleware:
    """Answer 503 "try again" when the database or Redis is down or overloaded.

    A database write is atomic, so nothing is half-written; Redis is used around writes
    (limits, pushes) and never holds what a write saved.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_outage(exception):
            return None
        logger.warning("Service unavailable for %s: %r", request.path, exception)
        from core.views import service_unavailable

        return service_unavailable(request)
