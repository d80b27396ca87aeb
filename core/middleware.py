"""Request-wide concerns: the anonymous voter's browser token and database outages."""

import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError

from core.security import is_valid_voter_token, new_voter_token

logger = logging.getLogger(__name__)


class VoterTokenMiddleware:
    """Give every browser a long-lived HttpOnly token that tells anonymous voters apart."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def _before(self, request) -> bool:
        token = request.COOKIES.get(settings.VOTER_COOKIE_NAME)
        is_new = not is_valid_voter_token(token)
        request.voter_token = new_voter_token() if is_new else token
        return is_new

    def _after(self, request, response, is_new: bool):
        if is_new:
            response.set_cookie(
                settings.VOTER_COOKIE_NAME,
                request.voter_token,
                max_age=settings.VOTER_COOKIE_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        is_new = self._before(request)
        return self._after(request, self.get_response(request), is_new)

    async def __acall__(self, request):
        is_new = self._before(request)
        return self._after(request, await self.get_response(request), is_new)


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
