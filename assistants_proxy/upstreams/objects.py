"""Assistants v2 objects for runs of stateless upstreams, key for key as the seed has them.

Only what a run on Chat Completions or Responses can fill in is set; the rest keeps the
Assistants defaults (`tool_resources` empty, `response_format` "auto"), so browsers and the
accumulator see the same shapes whichever protocol answered.
"""

from __future__ import annotations

import time
from typing import Any

from assistants_proxy.ids import new_id
from assistants_proxy.upstreams.base import RunRequest

JsonObject = dict[str, Any]

RUN_EXPIRY_SECONDS = 600  # what Assistants runs report: 10 minutes to submit tool outputs


def now() -> int:
    return int(time.time())


def run(request: RunRequest, *, thread_id: str) -> JsonObject:
    created = now()
    return {
        "id": new_id("run"),
        "object": "thread.run",
        "created_at": created,
        "assistant_id": request.assistant_id,
        "thread_id": thread_id,
        "status": "queued",
        "started_at": None,
        "expires_at": created + RUN_EXPIRY_SECONDS,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "required_action": None,
        "last_error": None,
        "model": request.model,
        "instructions": request.instructions,
        "tools": list(request.tools),
        "tool_resources": {},
        "metadata": dict(request.metadata),
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_completion_tokens": request.max_tokens,
        "max_prompt_tokens": None,
        "truncation_strategy": {"type": "auto", "last_messages": None},
        "incomplete_details": None,
        "usage": None,
        "response_format": "auto",
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }


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


def message(run: JsonObject) -> JsonObject:
    return {
        "id": new_id("msg"),
        "object": "thread.message",
        "created_at": now(),
        "assistant_id": run["assistant_id"],
        "thread_id": run["thread_id"],
        "run_id": run["id"],
        "status": "in_progress",
        "incomplete_details": None,
        "incomplete_at": None,
        "completed_at": None,
        "role": "assistant",
        "content": [],
        "attachments": [],
        "metadata": {},
    }


def text_content(value: str) -> list[JsonObject]:
    return [{"type": "text", "text": {"value": value, "annotations": []}}]


def text_delta(message_id: str, value: str, *, first: bool) -> JsonObject:
    """Only the first delta of a block carries `annotations`, as in OpenAI's captures."""
    text: JsonObject = {"value": value, "annotations": []} if first else {"value": value}
    return {
        "id": message_id,
        "object": "thread.message.delta",
        "delta": {"content": [{"index": 0, "type": "text", "text": text}]},
    }


def function_call(call_id: str, name: str, arguments: str, output: str | None) -> JsonObject:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments, "output": output},
    }


def step_delta(step_id: str, call: JsonObject) -> JsonObject:
    return {
        "id": step_id,
        "object": "thread.run.step.delta",
        "delta": {"step_details": tool_calls([call])},
    }


def required_action(calls: list[JsonObject]) -> JsonObject:
    listed = [
        {"id": c["id"], "type": "function", "function": {k: c["function"][k] for k in _CALL}}
        for c in calls
    ]
    return {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": listed}}


_CALL = ("name", "arguments")
