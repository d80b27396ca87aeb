"""Request-wide answers to failures: rate limits, database and Redis outages."""

import logging

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError

from core.cache import CacheUnavailable
from core.ratelimit import RateLimited, ratelimit_hit

logger = logging.getLogger(__name__)


class PermissionsPolicyMiddleware:
    """Send settings.PERMISSIONS_POLICY with every response (Django has no setting for it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class LoginThrottleMiddleware:
    """Throttle log-in attempts (the site's and the admin's) per address and per username.

    Per address stops one client trying many accounts; per username stops many addresses
    (a botnet) trying one account. Both count every attempt, so a username under attack
    is locked for the rest of the window, for its owner too: the price of not letting a
    distributed guesser through.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path in settings.LOGIN_THROTTLE_PATHS:
            from core.security import client_ip

            username = request.POST.get("username", "").strip().casefold()[:150]
            try:
                ratelimit_hit(scope="login-ip", ident=client_ip(request))
                if username:
                    ratelimit_hit(scope="login-user", ident=f"user:{username}")
            except RateLimited as limited:
                from core.views import rate_limited

                return rate_limited(request, limited.retry_after)
        return self.get_response(request)


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
