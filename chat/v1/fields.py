"""Reading the API's request fields: each check names the field it refuses (`param`)."""

from __future__ import annotations

from typing import Any

from chat.errors import InvalidInput
from chat.services import check_storable
from chat.v1.endpoint import BadParam

METADATA_KEYS, METADATA_KEY_CHARS, METADATA_VALUE_CHARS = 16, 64, 512


def text(body: dict[str, Any], name: str, *, limit: int, default: str | None = None) -> str:
    value = body.get(name, default)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BadParam(f"'{name}' must be a string.", param=name)
    if len(value) > limit:
        raise BadParam(f"'{name}' is longer than {limit:,} characters.", param=name)
    return storable(value, name)


def storable(value: str, name: str) -> str:
    """`value`, refused as the web chat refuses it (`unstorable_text`) if no database can keep
    it; the error names the field, as the API's errors do."""
    try:
        check_storable(value, f"'{name}'")
    except InvalidInput as exc:
        raise BadParam(exc.message, param=name, code=exc.code) from None
    return value


def required_text(body: dict[str, Any], name: str, *, limit: int) -> str:
    """A string the request must give: a missing or empty one is "required", one of another
    type "must be a string" (the client's fix differs)."""
    if body.get(name) is None:
        raise BadParam(f"'{name}' is required.", param=name)
    value = text(body, name, limit=limit)
    if not value:
        raise BadParam(f"'{name}' is required.", param=name)
    return value


def number(body: dict[str, Any], name: str, *, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BadParam(f"'{name}' must be a number from {low:g} to {high:g}.", param=name)
    return float(value)


def metadata(body: dict[str, Any], name: str = "metadata") -> dict[str, str]:
    value = body.get(name) or {}
    ok = isinstance(value, dict) and len(value) <= METADATA_KEYS
    ok = ok and all(
        isinstance(k, str)
        and len(k) <= METADATA_KEY_CHARS
        and isinstance(v, str)
        and len(v) <= METADATA_VALUE_CHARS
        for k, v in value.items()
    )
    if not ok:
        raise BadParam(
            f"'{name}' must be an object of at most {METADATA_KEYS} string keys "
            f"({METADATA_KEY_CHARS} characters) to string values ({METADATA_VALUE_CHARS}).",
            param=name,
        )
    for key, item in value.items():
        storable(key, name)
        storable(item, name)
    return dict(value)


def storable_json(value: Any, name: str) -> Any:
    """`value` (parsed JSON), refused like `storable` if any string in it, key or value,
    cannot be stored: a JSON column refuses them too."""
    if isinstance(value, str):
        storable(value, name)
    elif isinstance(value, list):
        for item in value:
            storable_json(item, name)
    elif isinstance(value, dict):
        for key, item in value.items():
            storable(key, name)
            storable_json(item, name)
    return value


TOOL_TYPES = ("function", "code_interpreter", "file_search")


def tools(body: dict[str, Any], name: str = "tools") -> list[dict[str, Any]]:
    value = body.get(name) or []
    if not isinstance(value, list) or len(value) > 128:
        raise BadParam(f"'{name}' must be a list of at most 128 tools.", param=name)
    for index, tool in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(tool, dict) or tool.get("type") not in TOOL_TYPES:
            raise BadParam(f"'{where}.type' must be one of {', '.join(TOOL_TYPES)}.", param=where)
        function = tool.get("function")
        if tool["type"] == "function" and not (
            isinstance(function, dict) and isinstance(function.get("name"), str)
        ):
            raise BadParam(f"'{where}.function.name' must be a string.", param=where)
    return list(storable_json(value, name))


def message_text(content: Any, name: str = "content") -> str:
    """A message's content: a string, or a list of text parts (the only parts kept here)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list) or not content:
        raise BadParam(f"'{name}' must be a string or a list of text parts.", param=name)
    texts = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") != "text":
            kind = part.get("type") if isinstance(part, dict) else None
            raise BadParam(
                f"Only text content is supported here, not {kind!r} (no files or images).",
                param=name,
            )
        texts.append(text(part, "text", limit=10**7))
    return "\n".join(texts)
