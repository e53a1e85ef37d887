"""Django's middleware, without a thread hop per hook under ASGI.

Under ASGI, `MiddlewareMixin` runs every `process_request` and `process_response` through
`sync_to_async`, and Django wraps every sync `process_view` the same way: with the middleware
of `config.settings` (Django's seven and django-csp's), a dozen round trips to a worker
thread per request, even though these hooks only read cookies and set headers. Each class
here is Django's own (or django-csp's), with the hooks called in the event loop when they do
no I/O, and in a thread when they may:

- a session is saved only when it changed (a login, a logout);
- messages are stored only when a view added or read some (the pages, not the API);
- the user is loaded in one hop (session and user together) instead of two.

Under WSGI (and Django's test client) they behave exactly as Django's.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from csp import middleware as csp
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest, HttpResponseBase
from django.middleware import clickjacking, common, csrf, security

from chat.views.http import is_api


class _InlineHooks:
    """`MiddlewareMixin.__acall__`, with the hooks called in the event loop unless
    `response_needs_thread` says the response hook may do I/O."""

    get_response: Any
    process_request: Any
    process_response: Any
    async_mode: bool
    inline = True

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if not self.inline:
            return await super().__acall__(request)  # type: ignore[misc,no-any-return]
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            if self.response_needs_thread(request):
                return await sync_to_async(self.process_response)(request, response)
            response = self.process_response(request, response)
        return response

    def response_needs_thread(self, request: HttpRequest) -> bool:
        return False


class SecurityMiddleware(_InlineHooks, security.SecurityMiddleware):
    pass


class CSPMiddleware(_InlineHooks, csp.CSPMiddleware):
    """django-csp's: sets the Content-Security-Policy header from settings, no I/O."""


class SessionMiddleware(_InlineHooks, sessions.SessionMiddleware):
    def response_needs_thread(self, request: HttpRequest) -> bool:
        session = getattr(request, "session", None)
        # The same test as Django's `process_response`, without loading the session.
        return session is not None and (session.modified or settings.SESSION_SAVE_EVERY_REQUEST)


class CommonMiddleware(_InlineHooks, common.CommonMiddleware):
    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        # Not under /api/: the redirect would turn a POST into a GET (and with DEBUG on,
        # Django raises instead of redirecting one). The API answers a JSON 404 that names
        # the path with its slash (chat.views.errors.api_not_found).
        if is_api(request.path_info):
            return False
        return bool(super().should_redirect_with_slash(request))


class CsrfViewMiddleware(_InlineHooks, csrf.CsrfViewMiddleware):
    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response)
        # With CSRF_USE_SESSIONS the token lives in the session, which may query the
        # database: Django's way then.
        self.inline = not settings.CSRF_USE_SESSIONS
        if self.async_mode and self.inline:
            # Django wraps a sync `process_view` in `sync_to_async`; the check reads the
            # request's cookie, header and (already received) body: no I/O.
            self.process_view = _as_coroutine(super().process_view)  # type: ignore[method-assign]


class AuthenticationMiddleware(_InlineHooks, auth.AuthenticationMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        if self.async_mode:
            request.auser = _OneHopUser(request)  # type: ignore[attr-defined]


class MessageMiddleware(_InlineHooks, messages.MessageMiddleware):
    def response_needs_thread(self, request: HttpRequest) -> bool:
        storage = getattr(request, "_messages", None)
        return storage is not None and (storage.used or storage.added_new)


class XFrameOptionsMiddleware(_InlineHooks, clickjacking.XFrameOptionsMiddleware):
    pass


class _OneHopUser:
    """`request.auser()`: Django's loads the session, then the user, each in its own trip
    to a thread; this loads both in one (`get_user`, the sync twin of `aget_user`)."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    async def __call__(self) -> Any:
        request = self.request
        if not hasattr(request, "_acached_user"):
            request._acached_user = await sync_to_async(get_user)(request)  # type: ignore[attr-defined]
        return request._acached_user  # type: ignore[attr-defined]


def _as_coroutine(check: Any) -> Any:
    async def process_view(request: HttpRequest, *args: Any) -> Any:
        return check(request, *args)

    return process_view
