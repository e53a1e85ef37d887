"""A run request's changes to its assistant (`chat.runs.overrides`), read and checked."""

from __future__ import annotations

from typing import Any

from chat.models import Assistant
from chat.v1 import fields
from chat.v1.endpoint import BadParam

INSTRUCTIONS_CHARS = 256_000
TOOL_CHOICE_WORDS = ("auto", "none", "required")


def overrides(body: dict[str, Any]) -> dict[str, Any]:
    """The run's own settings, in the assistant's terms; `additional_instructions` stays a
    separate key until the assistant is known (`with_assistant`)."""
    found: dict[str, Any] = {}
    for name in ("instructions", "additional_instructions"):
        if body.get(name) is not None:
            found[name] = fields.text(body, name, limit=INSTRUCTIONS_CHARS)
    if body.get("tools") is not None:
        found["tools"] = fields.tools(body)
    for name, high in (("temperature", 2.0), ("top_p", 1.0)):
        if body.get(name) is not None:
            found[name] = fields.number(body, name, low=0, high=high)
    if body.get("max_completion_tokens") is not None:
        found["max_tokens"] = _positive(body, "max_completion_tokens")
    if body.get("tool_choice") is not None:
        found["tool_choice"] = _tool_choice(body["tool_choice"])
    if body.get("response_format") is not None:
        found["response_format"] = _response_format(body["response_format"])
    if body.get("truncation_strategy") is not None:
        found["truncation_strategy"] = _truncation(body["truncation_strategy"])
    return found


def with_assistant(found: dict[str, Any], assistant: Assistant, model: Any) -> dict[str, Any]:
    if model is not None and model != assistant.model:
        raise BadParam(
            "A run uses its assistant's model here; make an assistant with that model.",
            param="model",
        )
    extra = found.pop("additional_instructions", None)
    if extra:
        base = found.get("instructions", assistant.instructions)
        found["instructions"] = f"{base}\n\n{extra}" if base else extra
    return found


def _positive(body: dict[str, Any], name: str) -> int:
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadParam(f"'{name}' must be a positive integer.", param=name)
    return value


def _tool_choice(value: Any) -> str:
    if value in TOOL_CHOICE_WORDS:
        return str(value)
    fields.storable_json(value, "tool_choice")
    name = (value.get("function") or {}).get("name") if isinstance(value, dict) else None
    if not isinstance(name, str) or not name:
        raise BadParam(
            "'tool_choice' must be auto, none, required or a function to call.",
            param="tool_choice",
        )
    return name


def _response_format(value: Any) -> Any:
    if value == "auto" or (isinstance(value, dict) and isinstance(value.get("type"), str)):
        return fields.storable_json(value, "response_format")
    raise BadParam(
        "'response_format' must be 'auto' or an object with a type.", param="response_format"
    )


def _truncation(value: Any) -> dict[str, Any]:
    kind = value.get("type") if isinstance(value, dict) else None
    last = value.get("last_messages") if isinstance(value, dict) else None
    ok_last = last is None or (isinstance(last, int) and not isinstance(last, bool) and last > 0)
    if kind not in ("auto", "last_messages") or not ok_last:
        raise BadParam(
            "'truncation_strategy' must be {type: auto | last_messages, last_messages: n}.",
            param="truncation_strategy",
        )
    return {"type": kind, "last_messages": last}
