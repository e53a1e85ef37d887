# ruff: noqa: E701  (one line per event type reads as the table it is)
"""Assistants API v2 stream events: one type per event name, parsed tolerantly.

Servers in the wild deviate from OpenAI's wire format, and a relay must not crash on them:

- keys with stray whitespace (the seed's `"started_at "`) are normalised; unknown fields kept;
- an event name we do not know becomes an `UnknownEvent`, logged once per name;
- a server that sends no `event:` line may put the name in the JSON (`{"event": .., "data":
  ..}`), or only send the object, whose `object` and `status` fields name the event;
- `data: [DONE]` with no `event:` line is the end of the stream.

Data stays a plain dict (the event's object in Assistants v2 shape), so unknown fields survive
and an event can be forwarded to a browser as it came.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from assistants_proxy.errors import MalformedEventError

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class StreamEvent:
    """One event of a stream. `event` is the Assistants v2 event name."""

    data: dict[str, Any] = field(default_factory=dict)
    # The data's JSON text as the upstream sent it, when it stands for `data` unchanged (set
    # by `parse_event`): a relay can forward it without encoding `data` again.
    raw: str | None = field(default=None, compare=False, repr=False, kw_only=True)
    event: ClassVar[str] = ""

    @property
    def name(self) -> str:
        return self.event

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.name, "data": self.data}


class ThreadEvent(StreamEvent):
    """`data` is a thread object."""


class RunEvent(StreamEvent):
    """`data` is a run object."""


class RunStepEvent(StreamEvent):
    """`data` is a run step object."""


class RunStepDeltaEvent(StreamEvent):
    """`data` is a run step delta: `{"id", "object", "delta": {"step_details": ...}}`."""


class MessageEvent(StreamEvent):
    """`data` is a message object."""


class MessageDeltaEvent(StreamEvent):
    """`data` is a message delta: `{"id", "object", "delta": {"content": [...]}}`."""


# fmt: off
class ThreadCreated(ThreadEvent): event = "thread.created"
class RunCreated(RunEvent): event = "thread.run.created"
class RunQueued(RunEvent): event = "thread.run.queued"
class RunInProgress(RunEvent): event = "thread.run.in_progress"
class RunRequiresAction(RunEvent): event = "thread.run.requires_action"
class RunCompleted(RunEvent): event = "thread.run.completed"
class RunIncomplete(RunEvent): event = "thread.run.incomplete"
class RunFailed(RunEvent): event = "thread.run.failed"
class RunCancelling(RunEvent): event = "thread.run.cancelling"
class RunCancelled(RunEvent): event = "thread.run.cancelled"
class RunExpired(RunEvent): event = "thread.run.expired"
class RunStepCreated(RunStepEvent): event = "thread.run.step.created"
class RunStepInProgress(RunStepEvent): event = "thread.run.step.in_progress"
class RunStepDelta(RunStepDeltaEvent): event = "thread.run.step.delta"
class RunStepCompleted(RunStepEvent): event = "thread.run.step.completed"
class RunStepFailed(RunStepEvent): event = "thread.run.step.failed"
class RunStepCancelled(RunStepEvent): event = "thread.run.step.cancelled"
class RunStepExpired(RunStepEvent): event = "thread.run.step.expired"
class MessageCreated(MessageEvent): event = "thread.message.created"
class MessageInProgress(MessageEvent): event = "thread.message.in_progress"
class MessageDelta(MessageDeltaEvent): event = "thread.message.delta"
class MessageCompleted(MessageEvent): event = "thread.message.completed"
class MessageIncomplete(MessageEvent): event = "thread.message.incomplete"
class ErrorEvent(StreamEvent): event = "error"
class DoneEvent(StreamEvent): event = "done"
# fmt: on


@dataclass(slots=True)
class UnknownEvent(StreamEvent):
    """An event name this library does not know. Kept, so nothing is silently dropped."""

    raw_name: str = ""

    @property
    def name(self) -> str:
        return self.raw_name


EVENT_TYPES: dict[str, type[StreamEvent]] = {
    cls.event: cls
    for cls in (
        ThreadCreated, RunCreated, RunQueued, RunInProgress, RunRequiresAction, RunCompleted,
        RunIncomplete, RunFailed, RunCancelling, RunCancelled, RunExpired, RunStepCreated,
        RunStepInProgress, RunStepDelta, RunStepCompleted, RunStepFailed, RunStepCancelled,
        RunStepExpired, MessageCreated, MessageInProgress, MessageDelta, MessageCompleted,
        MessageIncomplete, ErrorEvent, DoneEvent,
    )
}  # fmt: skip

TERMINAL_RUN_EVENTS = frozenset(
    {
        "thread.run.completed",
        "thread.run.incomplete",
        "thread.run.failed",
        "thread.run.cancelled",
        "thread.run.expired",
    }
)
TERMINAL_RUN_STATUSES = frozenset(name.rsplit(".", 1)[1] for name in TERMINAL_RUN_EVENTS)
# A stream also ends (without the run ending) when the run needs tool outputs.
STREAM_END_EVENTS = TERMINAL_RUN_EVENTS | {"thread.run.requires_action", "done"}

_warned_unknown: set[str] = set()

# Keys with stray whitespace (`"started_at ":`, `{" id"`, `, " id"`) are rare, and looking for
# them runs on every event: a few substring searches find the raw-space forms servers produce
# (a regex over every event cost as much as the JSON parse), and only data with a backslash
# can hide an escaped one (`"id\t":`), which a regex then looks for. A false positive only
# costs the normalising walk.
_ESCAPED_KEY_SPACE = re.compile(r'\\[tnr]\s*"\s*:|[{,]\s*"\\[tnr]')
# The C scanner behind json.loads, called directly: json.loads adds two Python calls per
# event, and this runs for every event of every stream.
_scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def parse_event(name: str | None, data: str) -> StreamEvent:
    """Build the typed event for one SSE event (its `event:` field and its data text)."""
    name = name.strip() if name else ""
    if data[:1] != "{" and _is_done(name, data):
        return DoneEvent()
    payload, as_sent = _load_object(name, data)
    if not name or name == "message":  # "message" is SSE's default event type
        name, inferred = _infer_name(payload)
        as_sent = as_sent and inferred is payload
        payload = inferred
    cls = EVENT_TYPES.get(name)
    event = cls(payload) if cls is not None else make_event(name, payload)
    if as_sent:
        event.raw = data
    return event


def _is_done(name: str, data: str) -> bool:
    data = data.strip()
    return data == "[DONE]" or (name == "done" and not data)


def make_event(name: str, payload: dict[str, Any]) -> StreamEvent:
    cls = EVENT_TYPES.get(name)
    if cls is not None:
        return cls(payload)
    if name not in _warned_unknown:
        _warned_unknown.add(name)
        logger.warning("unknown Assistants stream event %r kept as UnknownEvent", name)
    return UnknownEvent(payload, raw_name=name)


def _load_object(name: str, data: str) -> tuple[dict[str, Any], bool]:
    """The data's JSON object, and whether `data` is its text as is (no key was normalised)."""
    try:
        payload = _load_json(data)
    except json.JSONDecodeError as exc:
        raise MalformedEventError(
            f"event {name or '?'} has data that is not JSON: {exc.msg}", event=name, raw=data
        ) from None
    if not isinstance(payload, dict):
        raise MalformedEventError(
            f"event {name or '?'} has data that is not a JSON object", event=name, raw=data
        )
    if (
        ' ":' in data
        or ' " ' in data
        or '{" ' in data
        or '," ' in data
        or ("\\" in data and _ESCAPED_KEY_SPACE.search(data) is not None)
    ):
        normalised = normalise_keys(payload)
        return normalised, normalised == payload and data[:1] == "{"
    # Not an empty or blank data, which stands for {} without being its text.
    return payload, data[:1] == "{"


def _load_json(data: str) -> Any:
    if data[:1] != "{":
        return json.loads(data) if data.strip() else {}
    try:
        value, end = _scan_json(data, 0)
    except StopIteration as exc:  # what the scanner raises where a value should start
        raise json.JSONDecodeError("Expecting value", data, exc.value) from None
    if end != len(data) and not data[end:].isspace():
        raise json.JSONDecodeError("Extra data", data, end)
    return value


def normalise_keys(value: Any) -> Any:
    """Strip whitespace around every key, at every depth (`"started_at "` -> `started_at`)."""
    if isinstance(value, dict):
        return {str(k).strip(): normalise_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise_keys(v) for v in value]
    return value


def _infer_name(payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Name an event that came without an `event:` line."""
    envelope_name, envelope_data = payload.get("event"), payload.get("data")
    if isinstance(envelope_name, str) and isinstance(envelope_data, dict):
        return envelope_name.strip(), envelope_data
    if envelope_name == "done":  # `{"event": "done"}` or `{"event": "done", "data": "[DONE]"}`
        return "done", {}
    obj, status = payload.get("object"), payload.get("status")
    if obj in ("thread.message.delta", "thread.run.step.delta", "thread"):
        return ("thread.created" if obj == "thread" else obj), payload
    if obj in ("thread.run", "thread.run.step", "thread.message") and isinstance(status, str):
        return f"{obj}.{status}", payload
    if "error" in payload or obj == "error":
        return "error", payload
    return str(obj or "unknown"), payload
