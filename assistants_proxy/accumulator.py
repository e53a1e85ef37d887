"""Fold a stream of Assistants v2 events into snapshots of the run, its steps and messages.

The snapshots equal what the official `openai` SDK's `AssistantEventHandler` builds from the
same stream (a test holds us to it): the run is the latest run object; a message is its
`created` object with each delta merged in by content index, replaced by the server's own
object on `completed`/`incomplete`; a step is merged the same way, tool calls by index. One
deliberate difference: a step's final object replaces it when it carries the tool calls, since
only that object has the function outputs and the file-search results (the SDK keeps the step
as its deltas built it).

Servers whose ids or indices are inconsistent (a new message id per token, no index, an index
past the end) do not break it: the delta falls back to the current message or step, and its
text to the end of the last block (or a new block), so text stays in arrival order.

Text is the hot path: a long reply is thousands of one-token deltas, so text fragments are
collected in a list and joined only when a snapshot is read. Concatenating into the stored
string per delta would copy the whole text each time: O(n^2) in the length of the reply.
"""

from __future__ import annotations

import copy
from typing import Any, TypeGuard

from assistants_proxy.events import (
    DoneEvent,
    ErrorEvent,
    MessageDeltaEvent,
    MessageEvent,
    RunEvent,
    RunStepDeltaEvent,
    RunStepEvent,
    StreamEvent,
    ThreadEvent,
)

_STEP_DONE = {
    "thread.run.step.completed",
    "thread.run.step.failed",
    "thread.run.step.cancelled",
    "thread.run.step.expired",
}
_MESSAGE_DONE = {"thread.message.completed", "thread.message.incomplete"}


class RunAccumulator:
    def __init__(self) -> None:
        self.thread: dict[str, Any] | None = None
        self.run: dict[str, Any] | None = None
        self.errors: list[dict[str, Any]] = []
        self.event_count = 0
        self.done = False
        self._steps: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, dict[str, Any]] = {}
        self._current_message: dict[str, Any] | None = None
        self._current_step: dict[str, Any] | None = None
        # id(text block) -> (text block, fragments not yet joined into its value)
        self._pending: dict[int, tuple[dict[str, Any], list[str]]] = {}

    # -- feeding -------------------------------------------------------------------------

    def feed(self, event: StreamEvent) -> None:
        self.event_count += 1
        if isinstance(event, MessageDeltaEvent):
            self._message_delta(event.data)
        elif isinstance(event, MessageEvent):
            self._message(event.name, event.data)
        elif isinstance(event, RunStepDeltaEvent):
            self._step_delta(event.data)
        elif isinstance(event, RunStepEvent):
            self._step(event.name, event.data)
        elif isinstance(event, RunEvent):
            self.run = event.data
        elif isinstance(event, ThreadEvent):
            self.thread = event.data
        elif isinstance(event, ErrorEvent):
            self.errors.append(event.data)
        elif isinstance(event, DoneEvent):
            self.done = True

    def _message(self, name: str, data: dict[str, Any]) -> None:
        known = self._messages.get(data.get("id", ""))
        if name in _MESSAGE_DONE or known is None:
            snapshot = copy.deepcopy(data)
            if known is not None and not snapshot.get("content"):
                # A server that leaves the final object empty must not erase the text.
                self._flush()
                snapshot["content"] = known.get("content", [])
            self._store_message(snapshot)
        else:
            known.update({k: v for k, v in data.items() if k != "content"})

    def _store_message(self, snapshot: dict[str, Any]) -> None:
        self._flush()
        self._messages[snapshot.get("id", f"_message_{len(self._messages)}")] = snapshot
        self._current_message = snapshot

    def _message_delta(self, data: dict[str, Any]) -> None:
        target = self._messages.get(data.get("id", "")) or self._current_message
        if target is None:  # a delta before any `created`: start a message from it
            target = {"id": data.get("id", ""), "object": "thread.message", "content": []}
            target["role"] = "assistant"
            self._store_message(target)
        content = target.get("content")
        if not isinstance(content, list):
            content = target["content"] = []
        delta = data.get("delta")
        parts = delta.get("content") if isinstance(delta, dict) else None
        for part in parts if isinstance(parts, list) else ():
            if not isinstance(part, dict):
                continue
            # The hot path, inlined: one more token of text for an existing text block.
            index, text = part.get("index"), part.get("text")
            if (
                type(index) is int  # not isinstance: True is no index
                and 0 <= index < len(content)
                and type(text) is dict
                and type(text.get("value")) is str
                and not text.get("annotations")
                and part.get("type", "text") == "text"
                and content[index].get("type") == "text"
            ):
                block = content[index]
                entry = self._pending.get(id(block))
                if entry is None:
                    entry = self._pending[id(block)] = (block, [])
                entry[1].append(text["value"])
            else:
                self._merge_content(content, part)

    def _merge_content(self, content: list[dict[str, Any]], part: dict[str, Any]) -> None:
        raw_index = part.get("index")
        # No index, or one past the end: the delta continues the last block when it can, so
        # the text stays in arrival order even if later deltas use the right index.
        index = (
            raw_index if _usable_index(raw_index, len(content)) else _continued_block(content, part)
        )
        if index == len(content):
            content.append(copy.deepcopy(part))
            content[index]["index"] = index
            return
        block = content[index]
        value = _plain_text_value(part)
        if value is not None and block.get("type") == "text":
            self._pending_parts(block).append(value)
        else:
            self._flush()
            merge_delta(block, copy.deepcopy(part))

    def _pending_parts(self, block: dict[str, Any]) -> list[str]:
        entry = self._pending.get(id(block))
        if entry is None:
            entry = self._pending[id(block)] = (block, [])
        return entry[1]

    def _flush(self) -> None:
        for block, parts in self._pending.values():
            text = block.get("text")
            if not isinstance(text, dict):  # a block created as `"text": null`
                text = block["text"] = {}
            text["value"] = (text.get("value") or "") + "".join(parts)
        self._pending.clear()

    def _step(self, name: str, data: dict[str, Any]) -> None:
        step_id = data.get("id", f"_step_{len(self._steps)}")
        known = self._steps.get(step_id)
        if known is None:
            self._steps[step_id] = self._current_step = copy.deepcopy(data)
        elif name in _STEP_DONE and _tool_calls(data):
            known.update(copy.deepcopy(data))  # the server's final object is authoritative
        else:
            known.update({k: v for k, v in data.items() if k != "step_details"})

    def _step_delta(self, data: dict[str, Any]) -> None:
        target = self._steps.get(data.get("id", "")) or self._current_step
        if target is None:
            target = {"id": data.get("id", ""), "object": "thread.run.step"}
            self._steps[target["id"]] = self._current_step = target
        merge_delta(target, copy.deepcopy(data.get("delta") or {}))

    # -- reading -------------------------------------------------------------------------

    @property
    def messages(self) -> list[dict[str, Any]]:
        self._flush()
        return list(self._messages.values())

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self._steps.values())

    def message(self, message_id: str) -> dict[str, Any] | None:
        self._flush()
        return self._messages.get(message_id)

    def texts(self) -> list[str]:
        """The text of each message, in order of creation."""
        return [message_text(m) for m in self.messages]

    @property
    def usage(self) -> dict[str, Any] | None:
        return (self.run or {}).get("usage")

    @property
    def run_status(self) -> str | None:
        return (self.run or {}).get("status")

    def summary(self) -> dict[str, Any]:
        return {
            "events": self.event_count,
            "run_status": self.run_status,
            "messages": self.texts(),
            "usage": self.usage,
        }


def message_text(message: dict[str, Any]) -> str:
    parts = []
    for block in message.get("content") or []:
        if block.get("type") == "text":
            parts.append((block.get("text") or {}).get("value") or "")
    return "".join(parts)


def merge_delta(acc: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """Merge a delta into a snapshot, with the SDK's rules: strings concatenate, numbers add,
    dicts merge, lists of dicts merge by each entry's `index` (the `index` and `type` keys are
    replaced, not accumulated)."""
    for key, value in delta.items():
        current = acc.get(key)
        if current is None:
            acc[key] = [] if _is_indexed_list(value) else value
            if not _is_indexed_list(value):
                continue
            current = acc[key]
        if key in ("index", "type"):
            acc[key] = value
        elif _both_str(current, value) or (_is_number(current) and _is_number(value)):
            acc[key] = current + value
        elif isinstance(current, dict) and isinstance(value, dict):
            merge_delta(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            _merge_list(current, value)
        else:
            acc[key] = value
    return acc


def _merge_list(current: list[Any], entries: list[Any]) -> None:
    for entry in entries:
        index = entry.get("index") if isinstance(entry, dict) else None
        if not isinstance(index, int) or not 0 <= index <= len(current):
            current.append(entry)  # scalars, or no usable index: arrival order
        elif index == len(current):
            current.append(entry)
        elif isinstance(current[index], dict):
            merge_delta(current[index], entry)
        else:
            current[index] = entry


def _usable_index(index: Any, size: int) -> TypeGuard[int]:
    return isinstance(index, int) and not isinstance(index, bool) and 0 <= index <= size


def _continued_block(content: list[dict[str, Any]], part: dict[str, Any]) -> int:
    """Where a delta without a usable index goes: into the last block if it is of the same
    type, else into a new block at the end."""
    if content and content[-1].get("type") == part.get("type", "text"):
        return len(content) - 1
    return len(content)


def _is_indexed_list(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(v, dict) and "index" in v for v in value)


def _both_str(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plain_text_value(part: dict[str, Any]) -> str | None:
    """The text of a delta that only appends text (no annotations): the fast path."""
    text = part.get("text")
    if part.get("type", "text") != "text" or not isinstance(text, dict):
        return None
    value = text.get("value")
    if not isinstance(value, str) or text.get("annotations"):
        return None
    return value


def _tool_calls(step: dict[str, Any]) -> list[Any]:
    return (step.get("step_details") or {}).get("tool_calls") or []
