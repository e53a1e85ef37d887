"""Decorators that make a view part of the JSON API. Each works on sync and async views.

api_endpoint(GET=..., POST=...)   never cached, the errors below, 401, then 405 for others
json_login_required               401 JSON instead of a redirect to the login page
service_errors                    a ServiceError becomes {"error": {"code", "message"}}, and
                                  a database that cannot be reached a 503 `Unavailable`
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

from chat.errors import ServiceError, Unavailable
from chat.views.http import error_response

View = Callable[..., Any]
logger = logging.getLogger(__name__)
# What Django raises when the database is down, unreachable, out of pooled connections
# (psycopg_pool's PoolTimeout, wrapped) or, for SQLite, locked past its timeout.
DATABASE_DOWN = (OperationalError, InterfaceError)
DATABASE_RETRY_SECONDS = 5


def json_login_required(view: View) -> View:
    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = await request.auser()
            if not user.is_authenticated:
                return _unauthenticated()
            # Reading the lazy `request.user` in the event loop would query the database
            # synchronously and raise; hand the view the user we already loaded.
            request.user = user
            return await view(request, *args, **kwargs)

        return async_wrapper

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return _unauthenticated()
        return view(request, *args, **kwargs)

    return wrapper


def service_errors(view: View) -> View:
    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return await view(request, *args, **kwargs)
            except (ServiceError, *DATABASE_DOWN) as exc:
                return _answer(exc)

        return async_wrapper

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except (ServiceError, *DATABASE_DOWN) as exc:
            return _answer(exc)

    return wrapper


def _answer(exc: Exception) -> HttpResponse:
    if not isinstance(exc, ServiceError):
        # The exception's class only: its text may hold a connection string.
        logger.warning("database unavailable: %s", type(exc).__name__)
        message = "The database cannot be reached right now; try again in a few seconds."
        exc = Unavailable(message, retry_after=DATABASE_RETRY_SECONDS)
    return error_response(exc.status, exc.code, exc.message, retry_after=exc.retry_after)


def with_head(handlers: dict[str, View]) -> dict[str, View]:
    """HEAD answered as GET is, wherever GET is (RFC 9110, 9.3.2: the server sends the
    headers only; daphne, nginx and Django's test client drop the body): monitors and link
    checkers ask with HEAD, and a 405 looked like a broken URL."""
    if "GET" in handlers and "HEAD" not in handlers:
        return {**handlers, "HEAD": handlers["GET"]}
    return handlers


def by_method(**handlers: View) -> View:
    """One view for one URL that dispatches on the HTTP method.

    If any handler is async the whole view is, and the sync handlers run through
    `sync_to_async`: Django needs to know up front whether a view is a coroutine.
    """
    handlers = with_head(handlers)
    allowed = ", ".join(sorted(handlers))
    if not any(iscoroutinefunction(handler) for handler in handlers.values()):

        def dispatch(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            handler = handlers.get(request.method or "")
            if handler is None:
                return _method_not_allowed(request, allowed)
            return handler(request, *args, **kwargs)

        return dispatch

    as_async = {name: _as_async(handler) for name, handler in handlers.items()}

    async def async_dispatch(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        handler = as_async.get(request.method or "")
        if handler is None:
            return _method_not_allowed(request, allowed)
        return await handler(request, *args, **kwargs)

    return async_dispatch


def api_endpoint(**handlers: View) -> View:
    # service_errors outside the login check: loading the session is the first query.
    return never_cache(service_errors(json_login_required(by_method(**handlers))))


def _as_async(handler: View) -> View:
    return handler if iscoroutinefunction(handler) else sync_to_async(handler)


def _unauthenticated() -> HttpResponse:
    return error_response(401, "not_authenticated", "Log in first.")


def _method_not_allowed(request: HttpRequest, allowed: str) -> HttpResponse:
    response = error_response(
        405, "method_not_allowed", f"{request.method} is not allowed here; use {allowed}."
    )
    response["Allow"] = allowed
    return response
