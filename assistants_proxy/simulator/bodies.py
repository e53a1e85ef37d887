"""Validation of request bodies: every malformed field becomes a 400 naming the field."""

from dataclasses import dataclass
from typing import Any

from .directives import DirectiveError, parse_directives
from .errors import BadRequest
from .wire import JsonObject


@dataclass(frozen=True)
class NewMessage:
    role: str
    text: str
    metadata: JsonObject


def object_field(body: JsonObject, key: str) -> JsonObject:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"'{key}' must be an object.", param=key)
    return value


def string_field(body: JsonObject, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"Missing required parameter: '{key}'.", param=key)
    return value


def list_field(body: JsonObject, key: str) -> list[Any]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequest(f"'{key}' must be an array.", param=key)
    return value


def new_messages(body: JsonObject, key: str) -> list[NewMessage]:
    return [new_message(item, param=f"{key}[{i}]") for i, item in enumerate(list_field(body, key))]


def new_message(item: Any, *, param: str = "content") -> NewMessage:
    if not isinstance(item, dict):
        raise BadRequest("A message must be an object.", param=param)
    role = item.get("role")
    if role not in {"user", "assistant"}:
        raise BadRequest("'role' must be 'user' or 'assistant'.", param=f"{param}.role")
    text = _text(item.get("content"), param=f"{param}.content")
    if role == "user":
        check_directives(text, param=f"{param}.content")
    return NewMessage(role, text, object_field(item, "metadata"))


def _text(content: Any, *, param: str) -> str:
    """Content is a string or a list of parts; only text parts matter to the script."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(part, dict) for part in content):
        return "".join(p["text"] for p in content if isinstance(p.get("text"), str))
    raise BadRequest("'content' must be a string or an array of content parts.", param=param)


def check_directives(text: str, *, param: str = "content") -> None:
    try:
        parse_directives(text)
    except DirectiveError as exc:
        raise BadRequest(str(exc), param=param, code="invalid_directive") from None


def tool_outputs(body: JsonObject) -> dict[str, str]:
    outputs = {}
    for item in list_field(body, "tool_outputs"):
        if not isinstance(item, dict) or not isinstance(item.get("tool_call_id"), str):
            raise BadRequest("Each tool output needs a 'tool_call_id'.", param="tool_outputs")
        outputs[item["tool_call_id"]] = str(item.get("output") or "")
    return outputs


def wants_stream(body: JsonObject) -> bool:
    stream = body.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        raise BadRequest("'stream' must be a boolean.", param="stream")
    return bool(stream)
