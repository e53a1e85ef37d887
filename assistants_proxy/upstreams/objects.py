"""Assistants v2 objects for runs of stateless upstreams, key for key as the seed has them.

Only what a run on Chat Completions or Responses can fill in is set; the rest keeps the
Assistants defaults (`tool_resources` empty, `response_format` "auto"), so browsers and the
accumulator see the same shapes whichever protocol answered.
"""

from __future__ import annotations

from assistants_proxy.ids import new_id
from assistants_proxy.objects import JsonObject as JsonObject
from assistants_proxy.objects import function_call as function_call
from assistants_proxy.objects import message_creation as message_creation
from assistants_proxy.objects import now as now
from assistants_proxy.objects import step as step
from assistants_proxy.objects import step_delta as step_delta
from assistants_proxy.objects import text_content as text_content
from assistants_proxy.objects import text_delta as text_delta
from assistants_proxy.objects import tool_calls as tool_calls
from assistants_proxy.upstreams.base import RunRequest

RUN_EXPIRY_SECONDS = 600  # what Assistants runs report: 10 minutes to submit tool outputs


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


def required_action(calls: list[JsonObject]) -> JsonObject:
    listed = [
        {"id": c["id"], "type": "function", "function": {k: c["function"][k] for k in _CALL}}
        for c in calls
    ]
    return {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": listed}}


_CALL = ("name", "arguments")
