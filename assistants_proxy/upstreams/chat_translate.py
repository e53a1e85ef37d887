"""Chat Completions chunks -> Assistants v2 events.

The wire: `data:` lines only (no `event:`), each a `chat.completion.chunk`; the first
delta carries the role, then `content` (or `refusal`, or `tool_calls` fragments: id and
name only on the first fragment of an index), then a chunk with `finish_reason`; with
`stream_options.include_usage` one more chunk with `choices: []` and the usage; then
`data: [DONE]`. The usage arrives after the finish reason, so the run ends at `[DONE]`
(or at the end of the bytes when a server omits it), not at the finish reason.

Servers differ: vLLM and DeepSeek stream reasoning as `delta.reasoning_content` (newer
vLLM: `delta.reasoning`); Ollama used to answer a tool call with finish_reason "stop";
llama.cpp always sends the usage chunk; errors mid-stream come as a chunk with an `error`
object (vLLM once sent `{"object": "error", ...}` instead).
"""

from __future__ import annotations

import json
from typing import Any

from assistants_proxy.errors import MalformedEventError
from assistants_proxy.sse import ServerSentEvent
from assistants_proxy.upstreams.builder import Events, RunBuilder
from assistants_proxy.upstreams.stream import STREAM_ENDED


class ChatTranslator:
    def __init__(self, builder: RunBuilder) -> None:
        self.builder = builder
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None

    def feed(self, sse: ServerSentEvent) -> Events:
        if sse.data.strip() == "[DONE]":
            return self.end()
        chunk = load_json(sse.data, "chat.completion.chunk")
        error = _error(chunk)
        if error is not None:
            return self.builder.fail(error)
        self.builder.set_model(chunk.get("model"))
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        events: Events = []
        for choice in chunk.get("choices") or ():
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                events += self._choice(choice)
        return events

    def end(self) -> Events:
        if self.finish_reason is None:
            return self.builder.fail(STREAM_ENDED)
        return self.builder.finish(self.finish_reason, self.usage)

    def _choice(self, choice: dict[str, Any]) -> Events:
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return []
        builder = self.builder
        events = builder.text(delta.get("content"))
        if delta.get("refusal"):
            events += builder.text(delta["refusal"], refusal=True)
        builder.reasoning(delta.get("reasoning_content") or delta.get("reasoning"))
        for call in delta.get("tool_calls") or ():
            if isinstance(call, dict):
                events += self._tool_call(call)
        return events

    def _tool_call(self, call: dict[str, Any]) -> Events:
        index = call.get("index", 0)
        function = as_object(call.get("function"))
        events: Events = []
        if self.builder.tool_arguments_so_far(index) is None:
            events += self.builder.tool_call(index, call.get("id"), function.get("name"))
        return events + self.builder.tool_arguments(index, function.get("arguments"))


def as_object(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one: servers leave fields out or null."""
    return value if isinstance(value, dict) else {}


def load_json(data: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise MalformedEventError(f"{what} data is not JSON: {exc}", event=what, raw=data) from None
    if not isinstance(value, dict):
        raise MalformedEventError(f"{what} data is not a JSON object", event=what, raw=data)
    return value


def _error(chunk: dict[str, Any]) -> dict[str, Any] | None:
    error = chunk.get("error")
    if isinstance(error, dict):
        return error
    if error is not None or chunk.get("object") == "error":
        code = chunk.get("code") or chunk.get("type")
        return {"code": code, "message": error or chunk.get("message")}
    return None
