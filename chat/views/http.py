"""Small helpers for JSON requests and answers."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest, JsonResponse

from chat.errors import InvalidInput


def error_response(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def request_owner(request: HttpRequest) -> User:
    """The logged-in user of a view behind `json_login_required`."""
    user = request.user
    if not isinstance(user, User):  # AnonymousUser: the decorator was left off
        raise TypeError("view requires json_login_required")
    return user


def read_json_object(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object; InvalidInput for anything else."""
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
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
