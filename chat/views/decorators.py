"""Decorators that make a view part of the JSON API. Each works on sync and async views.

api_endpoint(GET=..., POST=...)   405 for other methods, then the two below
json_login_required               401 JSON instead of a redirect to the login page
service_errors                    a ServiceError becomes {"error": {"code", "message"}}
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse

from chat.errors import ServiceError
from chat.views.http import error_response

View = Callable[..., Any]


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
            except ServiceError as exc:
                return error_response(exc.status, exc.code, exc.message)

        return async_wrapper

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ServiceError as exc:
            return error_response(exc.status, exc.code, exc.message)

    return wrapper


def by_method(**handlers: View) -> View:
    """One view for one URL that dispatches on the HTTP method.

    If any handler is async the whole view is, and the sync handlers run through
    `sync_to_async`: Django needs to know up front whether a view is a coroutine.
    """
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
    return json_login_required(service_errors(by_method(**handlers)))


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
