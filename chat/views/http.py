"""Small helpers for JSON requests and answers."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils.cache import add_never_cache_headers

from chat.errors import InvalidInput, TooLarge

API_PREFIX = "/api/"


def is_api(path: str) -> bool:
    """Whether `path` is the JSON API's, whose every answer is JSON (docs/api.md)."""
    return path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")


def error_response(
    status: int, code: str, message: str, *, retry_after: int | None = None
) -> JsonResponse:
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    # One user's data or state: never kept by the browser's cache or a proxy's.
    add_never_cache_headers(response)
    return response


def request_owner(request: HttpRequest) -> User:
    """The logged-in user of a view behind `json_login_required`."""
    user = request.user
    if not isinstance(user, User):  # AnonymousUser: the decorator was left off
        raise TypeError("view requires json_login_required")
    return user


def read_json_object(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object; InvalidInput for anything else, TooLarge for a body
    over DATA_UPLOAD_MAX_MEMORY_SIZE (which Django refuses to read)."""
    try:
        raw = request.body
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise TooLarge(f"The body is larger than {limit:,} bytes.") from None
    # A form or text/plain body is what a cross-site form can send without a preflight: the
    # API reads JSON only when it is declared as JSON (docs/api.md).
    if raw and request.content_type != "application/json":
        raise InvalidInput(
            "Send the body as JSON (Content-Type: application/json).", code="invalid_json"
        )
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: nesting deeper than the JSON reader follows.
        raise InvalidInput("The body is not valid JSON.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.", code="invalid_json")
    return body


def required_str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise InvalidInput(f"'{name}' must be a string.", code=f"invalid_{name}")
    return value


def optional_id(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    # bool is an int in Python; `true` is not an id.
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise InvalidInput(f"'{name}' must be an integer.", code=f"invalid_{name}")


def query_int(request: HttpRequest, name: str, default: int) -> int:
    """An integer from the query string; InvalidInput for anything else."""
    value = request.GET.get(name)
    if value is None:
        return default
    if not value.isdigit() or len(value) > 9:
        raise InvalidInput(f"'{name}' must be a whole number.", code=f"invalid_{name}")
    return int(value)
