"""The JSON shapes of the API (documented in docs/api.md). Datetimes stay datetimes here;
`JsonResponse`'s encoder writes them as ISO 8601."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chat.branches import Branch
from chat.models import Assistant, Message, Run, RunStep, Thread


def thread_json(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.pk,
        "title": thread.title,
        "assistant_id": thread.assistant_id,
        "created_at": thread.created_at,
        "updated_at": thread.updated_at,
    }


def message_json(message: Message, *, branch: Branch | None = None) -> dict[str, Any]:
    """A message; with `branch` (the thread detail), a user message also says which of its
    versions it is ("edits") and which reply is shown after it ("replies")."""
    body = _message_fields(message)
    if branch is not None and message.pk in branch.edits:
        body["edits"] = branch.edits[message.pk]
        body["replies"] = branch.replies[message.pk]
    return body


def _message_fields(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "parent_id": message.parent_id,
        "role": message.role,
        "content": message.content,
        "status": message.status,
        "run_id": message.run_id,
        "created_at": message.created_at,
        "metadata": message.metadata,
    }


def run_json(
    run: Run, *, steps: Iterable[RunStep] | None = None, messages: Iterable[Message] = ()
) -> dict[str, Any]:
    """A run; with `steps` (the thread detail), also its steps, whose message ids are then
    this server's ids of `messages`."""
    body = _run_fields(run)
    if steps is not None:
        message_ids = {m.upstream_message_id: m.pk for m in messages if m.upstream_message_id}
        body["steps"] = [step_json(step, message_ids=message_ids) for step in steps]
    return body


def _run_fields(run: Run) -> dict[str, Any]:
    return {
        "id": run.pk,
        "thread_id": run.thread_id,
        "status": run.status,
        "model": run.model,
        "usage": {
            "prompt_tokens": run.prompt_tokens,
            "completion_tokens": run.completion_tokens,
            "total_tokens": run.total_tokens,
            "cached_tokens": run.cached_tokens,
            "reasoning_tokens": run.reasoning_tokens,
            "estimated": run.usage_estimated,
        },
        "last_error": run.last_error,
        # What the run's record says beyond its status, in plain sentences (older messages
        # left out for the context window, an upstream object made again...).
        "notes": run.notes,
        "created_at": run.created_at,
        "completed_at": run.completed_at,
    }


def assistant_json(assistant: Assistant) -> dict[str, Any]:
    return {
        "id": assistant.pk,
        "name": assistant.name,
        "model": assistant.model,
        "protocol": assistant.protocol,
        "is_default": assistant.is_default,
    }


def step_json(step: RunStep, *, message_ids: Mapping[str, int]) -> dict[str, Any]:
    """A run step in the Assistants v2 shape, as stored when its run ended."""
    return {
        "id": step.pk,
        "type": step.type,
        "status": step.status,
        "step_details": _step_details(step, message_ids),
        "usage": _step_usage(step.usage),
        "created_at": step.created_at,
    }


def _step_details(step: RunStep, message_ids: Mapping[str, int]) -> dict[str, Any]:
    details = step.step_details if isinstance(step.step_details, dict) else {}
    if step.type == RunStep.Type.MESSAGE_CREATION:
        # The upstream's message id becomes ours (null if that message was never stored).
        upstream_id = (details.get("message_creation") or {}).get("message_id") or ""
        return {
            "type": "message_creation",
            "message_creation": {"message_id": message_ids.get(upstream_id)},
        }
    calls = details.get("tool_calls")
    return {"type": "tool_calls", "tool_calls": calls if isinstance(calls, list) else []}


def _step_usage(usage: Any) -> dict[str, int] | None:
    # Stored as the upstream reported it (detail objects included); the API keeps the counts.
    if not isinstance(usage, dict):
        return None
    keys = ("prompt_tokens", "completion_tokens", "total_tokens")
    return {key: int(usage.get(key) or 0) for key in keys}


# The counts of a step's usage, for the Assistants API's step objects too (`chat.v1.shapes`).
step_usage = _step_usage
