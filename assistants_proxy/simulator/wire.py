"""Builders for Assistants API v2 objects and SSE frames, field for field as in the seed.

Objects are plain dicts in the seed's key order (the seed's first ``thread.run.created``
has stray spaces in its keys and ``"gpt-4 o"``; those are capture defects, and the clean
form of the later events is what is built here). Timestamps are epoch seconds.
"""

import json
from typing import Any

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

RUN_EXPIRY_SECONDS = 600  # runs expire 10 minutes after creation, as in every capture
DONE_FRAME = b"event: done\ndata: [DONE]\n\n"


def frame(event: str, data: JsonObject) -> bytes:
    """One SSE event: ``event:`` line, one ``data:`` line of compact JSON, blank line."""
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event}\ndata: {payload}\n\n".encode()


def tool_resources() -> JsonObject:
    return {"code_interpreter": {"file_ids": []}}


def thread(*, metadata: JsonObject) -> JsonObject:
    return {
        "id": new_id("thread"),
        "object": "thread",
        "created_at": now(),
        "metadata": metadata,
        "tool_resources": tool_resources(),
    }


def usage(prompt_tokens: int, completion_tokens: int) -> JsonObject:
    total = prompt_tokens + completion_tokens
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": total,
    }


def message(
    *, thread_id: str, role: str, text: str, run_id: str | None, assistant_id: str | None
) -> JsonObject:
    """A user message is born completed; an assistant message starts empty, in progress."""
    created = now()
    user = role == "user"
    return {
        "id": new_id("msg"),
        "object": "thread.message",
        "created_at": created,
        "assistant_id": assistant_id,
        "thread_id": thread_id,
        "run_id": run_id,
        "status": "completed" if user else "in_progress",
        "incomplete_details": None,
        "incomplete_at": None,
        "completed_at": created if user else None,
        "role": role,
        "content": text_content(text) if user else [],
        "attachments": [],
        "metadata": {},
    }


def run(*, thread_id: str, assistant: JsonObject, params: JsonObject) -> JsonObject:
    """A queued run; `params` are the request's run parameters overriding the assistant's."""
    created = now()
    pick = _picker(params, assistant)
    return {
        "id": new_id("run"),
        "object": "thread.run",
        "created_at": created,
        "assistant_id": assistant["id"],
        "thread_id": thread_id,
        "status": "queued",
        "started_at": None,
        "expires_at": created + RUN_EXPIRY_SECONDS,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "required_action": None,
        "last_error": None,
        "model": pick("model"),
        "instructions": _instructions(params, assistant),
        "tools": pick("tools"),
        "tool_resources": tool_resources(),
        "metadata": params.get("metadata") or {},
        "temperature": pick("temperature"),
        "top_p": pick("top_p"),
        "max_completion_tokens": params.get("max_completion_tokens"),
        "max_prompt_tokens": params.get("max_prompt_tokens"),
        "truncation_strategy": params.get("truncation_strategy")
        or {"type": "auto", "last_messages": None},
        "incomplete_details": None,
        "usage": None,
        "response_format": pick("response_format"),
        "tool_choice": params.get("tool_choice") or "auto",
        "parallel_tool_calls": params.get("parallel_tool_calls", True),
    }


def _picker(params: JsonObject, assistant: JsonObject) -> Any:
    def pick(key: str) -> Any:
        value = params.get(key)
        return assistant.get(key) if value is None else value

    return pick


def _instructions(params: JsonObject, assistant: JsonObject) -> str | None:
    base = params.get("instructions") or assistant.get("instructions")
    extra = params.get("additional_instructions")
    return f"{base}\n{extra}" if base and extra else (base or extra)


def code_call(call_id: str, code: str, logs: str | None) -> JsonObject:
    outputs = [] if logs is None else [{"type": "logs", "logs": logs}]
    return {
        "id": call_id,
        "type": "code_interpreter",
        "code_interpreter": {"input": code, "outputs": outputs},
    }


def required_action(call_id: str, name: str, arguments: str) -> JsonObject:
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
    return {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": [call]}}


def error(message: str, *, type: str, code: str | None, param: str | None = None) -> JsonObject:
    """The body of an HTTP error, in OpenAI's envelope."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def error_event(message: str, code: str = "server_error") -> JsonObject:
    """The ``data`` of an ``event: error`` frame: the bare Error schema, no envelope."""
    return {"code": code, "message": message, "param": None, "type": code}


def page(items: list[JsonObject], *, has_more: bool) -> JsonObject:
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }


def deleted(object_id: str, kind: str) -> JsonObject:
    return {"id": object_id, "object": f"{kind}.deleted", "deleted": True}


def assistant(*, assistant_id: str | None = None, params: JsonObject) -> JsonObject:
    return {
        "id": assistant_id or new_id("asst"),
        "object": "assistant",
        "created_at": now(),
        "name": params.get("name"),
        "description": params.get("description"),
        "model": params.get("model") or "gpt-4o",
        "instructions": params.get("instructions"),
        "tools": params.get("tools") or [],
        "tool_resources": tool_resources(),
        "metadata": params.get("metadata") or {},
        "temperature": params.get("temperature", 1.0),
        "top_p": params.get("top_p", 1.0),
        "response_format": params.get("response_format") or "auto",
    }
