"""Request bodies of the stateless protocols, read into one `Turn`: what the script needs.

Chat Completions sends `messages` (system/developer, user, assistant with `tool_calls`,
`tool` results); the Responses API sends `input` (a string, or role/content messages and
`function_call` / `function_call_output` items) and may chain to an earlier response with
`previous_response_id`. Either way the reply answers the last user message, and tool
results that came after it make the reply the one that uses them.
"""

from dataclasses import dataclass
from typing import Any

from .bodies import check_directives, list_field, string_field, wants_stream
from .errors import BadRequest, NotFound
from .store import Store
from .wire import JsonObject


@dataclass(frozen=True)
class Turn:
    model: str
    user_text: str  # the last user message, directive included
    texts: tuple[str, ...]  # every message's text, for the prompt token estimate
    instructions: str | None
    tools: tuple[JsonObject, ...]
    functions: frozenset[str]  # names of the function tools offered
    tool_outputs: tuple[str, ...]  # results after the last user message
    max_tokens: int | None
    stream: bool
    include_usage: bool = False


def chat_turn(body: JsonObject) -> Turn:
    messages = list_field(body, "messages")
    if not messages or not all(isinstance(m, dict) for m in messages):
        raise BadRequest("'messages' must be a non-empty array of objects.", param="messages")
    system = [_text(m.get("content")) for m in messages if m.get("role") in _SYSTEM]
    tools = _tools(body)
    options = body.get("stream_options")
    return Turn(
        model=string_field(body, "model"),
        user_text=_checked(_last_user(messages)),
        texts=tuple(_text(m.get("content")) for m in messages),
        instructions="\n".join(system) or None,
        tools=tools,
        functions=frozenset(_name(t.get("function") or {}) for t in tools),
        tool_outputs=_after_last_user(messages, lambda m: m.get("role") == "tool", "content"),
        max_tokens=_max_tokens(body, "max_completion_tokens", "max_tokens"),
        stream=wants_stream(body),
        include_usage=isinstance(options, dict) and options.get("include_usage") is True,
    )


def responses_turn(body: JsonObject, store: Store) -> Turn:
    items = _input_items(body)
    previous = body.get("previous_response_id")
    earlier = _earlier_text(previous, store) if previous else ""
    user_text = _last_user(items) if _has_user(items) else earlier
    tools = _tools(body)
    instructions = body.get("instructions")
    return Turn(
        model=string_field(body, "model"),
        user_text=_checked(user_text),
        texts=(earlier, *(_text(i.get("content")) for i in items)),
        instructions=instructions if isinstance(instructions, str) else None,
        tools=tools,
        functions=frozenset(_name(t) for t in tools),
        tool_outputs=_after_last_user(items, _is_output, "output"),
        max_tokens=_max_tokens(body, "max_output_tokens"),
        stream=wants_stream(body),
    )


_SYSTEM = {"system", "developer"}


def _input_items(body: JsonObject) -> list[JsonObject]:
    value = body.get("input")
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
        raise BadRequest("'input' must be a string or an array of items.", param="input")
    return value


def _earlier_text(previous: Any, store: Store) -> str:
    if not isinstance(previous, str) or previous not in store.response_texts:
        raise NotFound(f"Previous response with id '{previous}' not found.")
    return store.response_texts[previous]


def _text(content: Any) -> str:
    """Content is a string or a list of parts (`text`, `input_text`, `output_text`)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p["text"] for p in content if isinstance(p, dict) and _is_str(p, "text"))
    return ""


def _is_str(item: JsonObject, key: str) -> bool:
    return isinstance(item.get(key), str)


def _has_user(items: list[JsonObject]) -> bool:
    return any(item.get("role") == "user" for item in items)


def _last_user(items: list[JsonObject]) -> str:
    users = [_text(item.get("content")) for item in items if item.get("role") == "user"]
    if not users:
        raise BadRequest("The conversation has no user message.", param="messages")
    return users[-1]


def _after_last_user(items: list[JsonObject], wanted: Any, key: str) -> tuple[str, ...]:
    last = max((i for i, item in enumerate(items) if item.get("role") == "user"), default=-1)
    return tuple(_text(item.get(key)) for item in items[last + 1 :] if wanted(item))


def _is_output(item: JsonObject) -> bool:
    return item.get("type") == "function_call_output"


def _tools(body: JsonObject) -> tuple[JsonObject, ...]:
    tools = list_field(body, "tools")
    if not all(isinstance(tool, dict) for tool in tools):
        raise BadRequest("Each tool must be an object.", param="tools")
    return tuple(tools)


def _name(tool: Any) -> str:
    return str(tool.get("name") or "") if isinstance(tool, dict) else ""


def _checked(text: str) -> str:
    check_directives(text)
    return text


def _max_tokens(body: JsonObject, *keys: str) -> int | None:
    for key in keys:
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise BadRequest(f"'{key}' must be a positive integer.", param=key)
        return value
    return None
