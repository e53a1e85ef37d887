"""Responses API events -> Assistants v2 events.

The wire: `event:` lines, and JSON whose `type` repeats the event name, with a
`sequence_number`; no `[DONE]`: the stream ends after `response.completed`, `.failed` or
`.incomplete` (or a bare `error` event). Text comes as `response.output_text.delta` inside
a `message` output item; a function call is its own `function_call` item (an `fc_` item
id, which the argument deltas quote, and a `call_` id, which the tool result must quote).

Refusals (`response.refusal.delta`) are streamed as text, marked in the message metadata;
reasoning summaries (`response.reasoning_summary_text.delta`, and the raw
`response.reasoning_text.delta` open models send) go into the message metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistants_proxy.sse import ServerSentEvent
from assistants_proxy.upstreams.builder import INCOMPLETE, Events, RunBuilder
from assistants_proxy.upstreams.chat_translate import as_object, load_json
from assistants_proxy.upstreams.state import RunState
from assistants_proxy.upstreams.stream import STREAM_ENDED

JsonObject = dict[str, Any]


class ResponsesTranslator:
    def __init__(self, builder: RunBuilder, state: RunState) -> None:
        self.builder = builder
        self.state = state
        self._handlers: dict[str, Callable[[JsonObject], Events]] = {
            "response.created": self._response,
            "response.in_progress": self._response,
            "response.queued": self._response,
            "response.output_item.added": self._item_added,
            "response.output_item.done": self._item_done,
            "response.output_text.delta": lambda d: builder.text(d.get("delta")),
            "response.refusal.delta": lambda d: builder.text(d.get("delta"), refusal=True),
            "response.reasoning_summary_text.delta": lambda d: builder.reasoning(d.get("delta")),
            "response.reasoning_text.delta": lambda d: builder.reasoning(d.get("delta")),
            "response.function_call_arguments.delta": self._arguments,
            "response.function_call_arguments.done": self._arguments_done,
            "response.completed": self._completed,
            "response.incomplete": self._incomplete,
            "response.failed": self._failed,
            "error": self._error,
        }

    def feed(self, sse: ServerSentEvent) -> Events:
        data = load_json(sse.data, sse.event or "response event")
        handler = self._handlers.get(str(data.get("type") or sse.event))
        return handler(data) if handler is not None else []  # many events add nothing

    def end(self) -> Events:
        return self.builder.fail(STREAM_ENDED)

    def _response(self, data: JsonObject) -> Events:
        response = as_object(data.get("response"))
        if isinstance(response.get("id"), str):
            self.state.response_id = response["id"]
            # Where the caller finds it, to chain the next turn with previous_response_id.
            self.state.run["metadata"]["response_id"] = response["id"]
        self.builder.set_model(response.get("model"))
        return []

    def _item_added(self, data: JsonObject) -> Events:
        item = data.get("item")
        if not isinstance(item, dict) or item.get("type") != "function_call":
            return []
        key = _key(item.get("id"), data)
        events = self.builder.tool_call(key, item.get("call_id"), item.get("name"))
        return events + self.builder.tool_arguments(key, item.get("arguments"))

    def _item_done(self, data: JsonObject) -> Events:
        """A server that sends a function call only whole, in `output_item.done`."""
        item = data.get("item")
        if not isinstance(item, dict) or item.get("type") != "function_call":
            return []
        key = _key(item.get("id"), data)
        if self.builder.tool_arguments_so_far(key) is not None:
            return []
        return self._item_added(data)

    def _arguments(self, data: JsonObject) -> Events:
        return self.builder.tool_arguments(_key(data.get("item_id"), data), data.get("delta"))

    def _arguments_done(self, data: JsonObject) -> Events:
        key = _key(data.get("item_id"), data)
        if self.builder.tool_arguments_so_far(key) == "":  # sent whole, without deltas
            return self.builder.tool_arguments(key, data.get("arguments"))
        return []

    def _completed(self, data: JsonObject) -> Events:
        self._response(data)
        return self.builder.finish("stop", _usage(data))

    def _incomplete(self, data: JsonObject) -> Events:
        self._response(data)
        details = as_object(as_object(data.get("response")).get("incomplete_details"))
        reason = details.get("reason")
        return self.builder.finish(reason if reason in INCOMPLETE else "length", _usage(data))

    def _failed(self, data: JsonObject) -> Events:
        self._response(data)
        return self.builder.fail(as_object(as_object(data.get("response")).get("error")))

    def _error(self, data: JsonObject) -> Events:
        return self.builder.fail(as_object(data.get("error")) or data)


def _key(item_id: Any, data: JsonObject) -> Any:
    """Calls are matched by item id; by output position when a server leaves ids out."""
    return item_id if item_id else ("output", data.get("output_index", 0))


def _usage(data: JsonObject) -> dict[str, Any] | None:
    return as_object(as_object(data.get("response")).get("usage")) or None
