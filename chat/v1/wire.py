"""A run log's frames (`chat.fanout.runlog.frame_text`) as Assistants server-sent events.

The log's frames are the browser's, with the upstream's objects inside; the API's stream is
the same events with this app's ids for the run, its thread and assistant, without what only
the browser wants (the user's own message echoed, notices, the app's error frames) and
without an upstream's own `thread.created` (the API announces its thread itself).

A text delta, one per token, is cut out of the frame's text and never parsed: it names no
run, thread or assistant, only the upstream's message id, which is the message's API id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistants_proxy.events import TERMINAL_RUN_EVENTS

DONE = "event: done\ndata: [DONE]\n\n"
REQUIRES_ACTION = "thread.run.requires_action"
_DELTA_HEAD = '{"event":"thread.message.delta",'
_DATA = ',"data":'
_BROWSER_ONLY = frozenset({"notice", "error", "heartbeat", "resync", "thread.created"})
_USER_ECHO = frozenset(
    {"thread.message.created", "thread.message.in_progress", "thread.message.completed"}
)


@dataclass(frozen=True)
class RunNames:
    """The API ids the stream's objects are given."""

    run: str
    thread: str
    assistant: str
    # Whether a `requires_action` is the client's to answer (it ends the stream then); the
    # server answers calls to its own functions, and the client never sees them asked.
    client_answers: Callable[[dict[str, Any]], bool]


def sse(event: str, data_json: str) -> str:
    return f"event: {event}\ndata: {data_json}\n\n"


def object_event(event: str, data: dict[str, Any]) -> str:
    """An event the API makes itself (`thread.created` of create-and-run)."""
    return sse(event, json.dumps(data, ensure_ascii=False, separators=(",", ":")))


def translate(frame: str, names: RunNames) -> tuple[str, bool]:
    """(the SSE text for one frame, "" to leave it out; whether it ends the stream)."""
    if frame.startswith(_DELTA_HEAD):
        data = frame[frame.index(_DATA, len(_DELTA_HEAD)) + len(_DATA) : -1]
        if "\n" in data:  # an upstream's multi-line JSON: SSE data is one line here
            data = json.dumps(json.loads(data), ensure_ascii=False, separators=(",", ":"))
        return sse("thread.message.delta", data), False
    parsed = json.loads(frame)
    event, data = str(parsed.get("event")), parsed.get("data")
    if event in _BROWSER_ONLY or not isinstance(data, dict):
        return "", False
    if event in _USER_ECHO and data.get("role") == "user":
        return "", False
    if event == REQUIRES_ACTION and not names.client_answers(data):
        return "", False
    _rename(data, names)
    text = sse(event, json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return text, event in TERMINAL_RUN_EVENTS or event == REQUIRES_ACTION


def _rename(data: dict[str, Any], names: RunNames) -> None:
    if data.get("object") == "thread.run":
        data["id"] = names.run
    for key, value in (("run_id", names.run), ("thread_id", names.thread)):
        if key in data:
            data[key] = value
    if "assistant_id" in data:
        data["assistant_id"] = names.assistant
