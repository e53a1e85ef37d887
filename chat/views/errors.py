"""Error answers: JSON under /api/ (docs/api.md), the app's own pages elsewhere.

`config.urls` names these as Django's handler400/403/404/500, which Django calls when DEBUG is
off: a body over DATA_UPLOAD_MAX_MEMORY_SIZE read by a middleware, a page that does not
exist, an unexpected exception. `CSRF_FAILURE_VIEW` is `csrf_failure`. Two answers do not
wait for a handler, so that they are the same under `make run` (DEBUG on), where Django shows
its debug pages instead: `api_not_found`, the last route under /api/, and `not_found_page`,
which views return for a missing object.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.csrf import csrf_failure as django_csrf_failure

from chat.views.http import error_response, is_api


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api(request.path):
        return error_response(403, "csrf_failed", f"CSRF check failed: {reason}")
    return django_csrf_failure(request, reason)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api(request.path):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return error_response(413, "body_too_large", "The body is too large.")
    return error_response(400, "bad_request", "The server could not read this request.")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api(request.path):
        return defaults.permission_denied(request, exception)
    return error_response(403, "forbidden", "You are not allowed to do that.")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api(request.path):
        return not_found_page(request)
    return api_not_found(request)


def server_error(request: HttpRequest) -> HttpResponse:
    if not is_api(request.path):
        return defaults.server_error(request)
    return error_response(500, "internal_error", "The server failed; it has been logged.")


def api_not_found(request: HttpRequest) -> HttpResponse:
    """Any path under /api/ that no endpoint has (never a redirect: it would turn a POST into
    a GET). A path missing only its final slash is told the right one."""
    message = "No such endpoint; see docs/api.md."
    if not request.path.endswith("/") and _is_endpoint(request.path + "/"):
        message = f"No such endpoint. API paths end with a slash: {request.path}/"
    return error_response(404, "not_found", message)


def not_found_page(request: HttpRequest) -> HttpResponse:
    return render(request, "404.html", status=404)


def _is_endpoint(path: str) -> bool:
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.func is not api_not_found  # the catch-all route under /api/ matches anything
