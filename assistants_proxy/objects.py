"""Assistants v2 objects that every producer of an Assistants stream builds alike: the
stateless adapters (`upstreams.objects`) and the simulator (`simulator.wire`), field for field
as in the seed."""

from __future__ import annotations

import time
from typing import Any

from assistants_proxy.ids import new_id

JsonObject = dict[str, Any]


def now() -> int:
    return int(time.time())


def step(run: JsonObject, details: JsonObject) -> JsonObject:
    return {
        "id": new_id("step"),
        "object": "thread.run.step",
        "created_at": now(),
        "run_id": run["id"],
        "assistant_id": run["assistant_id"],
        "thread_id": run["thread_id"],
        "type": details["type"],
        "status": "in_progress",
        "cancelled_at": None,
        "completed_at": None,
        "expires_at": run["expires_at"],
        "failed_at": None,
        "last_error": None,
        "step_details": details,
        "usage": None,
    }


def message_creation(message_id: str) -> JsonObject:
    return {"type": "message_creation", "message_creation": {"message_id": message_id}}


def tool_calls(calls: list[JsonObject]) -> JsonObject:
    return {"type": "tool_calls", "tool_calls": calls}


def text_content(value: str) -> list[JsonObject]:
    return [{"type": "text", "text": {"value": value, "annotations": []}}]


def function_call(call_id: str, name: str, arguments: str, output: str | None) -> JsonObject:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments, "output": output},
    }


def text_delta(message_id: str, value: str, *, first: bool) -> JsonObject:
    """Only the first delta of a block carries `annotations`, as in OpenAI's captures."""
    text: JsonObject = {"value": value, "annotations": []} if first else {"value": value}
    return {
        "id": message_id,
        "object": "thread.message.delta",
        "delta": {"content": [{"index": 0, "type": "text", "text": text}]},
    }


def step_delta(step_id: str, call: JsonObject) -> JsonObject:
    return {
        "id": step_id,
        "object": "thread.run.step.delta",
        "delta": {"step_details": tool_calls([call])},
    }
