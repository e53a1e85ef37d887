"""What makes a view part of the Assistants API: a bearer key instead of a session and CSRF
token, never cached, and every error in the API's shape:

    {"error": {"message": "...", "type": "invalid_request_error", "param": null, "code": null}}
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt

from chat.api_keys import api_key_user
from chat.errors import NotFound, ServiceError
from chat.views.decorators import DATABASE_DOWN, View, with_head

logger = logging.getLogger(__name__)

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


def api_error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    retry_after: int | None = None,
) -> JsonResponse:
    error = {
        "message": message,
        "type": ERROR_TYPES.get(status, "server_error"),
        "param": param,
        "code": code,
    }
    response = JsonResponse({"error": error}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    add_never_cache_headers(response)
    return response


class BadParam(ServiceError):
    """A request field the API refuses; `param` names it, as the API's errors do."""

    status = 400
    code = "invalid_request_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.param = param


def error_for(exc: ServiceError) -> JsonResponse:
    # A missing object has no code in OpenAI's answers; SDKs branch on the status.
    code = None if isinstance(exc, NotFound) else exc.code
    param = getattr(exc, "param", None)
    return api_error(exc.status, exc.message, code=code, param=param, retry_after=exc.retry_after)


def _bearer(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _unauthenticated(token: str) -> JsonResponse:
    if not token:
        message = "You didn't provide an API key: send it as 'Authorization: Bearer KEY'."
        return api_error(401, message, code="missing_api_key")
    shown = token[:12] + "…" if len(token) > 12 else "…"
    return api_error(401, f"Incorrect API key provided: {shown}", code="invalid_api_key")


def _authenticate(request: HttpRequest) -> JsonResponse | None:
    token = _bearer(request)
    user = api_key_user(token) if token else None
    if user is None:
        return _unauthenticated(token)
    request.user = user
    return None


def v1_endpoint(**handlers: View) -> View:
    """One URL of the API, dispatching on the method; the key is checked and the user loaded
    in one hop to the database thread. Sync handlers run in the database thread."""
    handlers = with_head(handlers)
    calls = {m: h if iscoroutinefunction(h) else sync_to_async(h) for m, h in handlers.items()}
    allowed = ", ".join(sorted(handlers))

    async def endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        handler = calls.get(request.method or "")
        if handler is None:
            wrong = api_error(405, f"{request.method} is not allowed here; use {allowed}.")
            wrong["Allow"] = allowed
            return wrong
        try:
            refused = await sync_to_async(_authenticate)(request)
            response: HttpResponseBase = refused or await handler(request, *args, **kwargs)
        except ServiceError as exc:
            return error_for(exc)
        except DATABASE_DOWN as exc:
            logger.warning("database unavailable: %s", type(exc).__name__)
            return api_error(503, "The database cannot be reached; retry.", retry_after=5)
        add_never_cache_headers(response)
        return response

    return csrf_exempt(endpoint)


@csrf_exempt
def not_found(request: HttpRequest) -> HttpResponse:
    return api_error(404, f"Invalid URL ({request.method} {request.path}).")
