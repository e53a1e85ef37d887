"""The Assistants API v2 objects, built from this app's rows (the streamed objects come from
the run's event log instead: `chat.v1.stream`). Times are Unix seconds, as the API has them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from assistants_proxy.objects import text_content
from chat.models import Assistant, Message, Run, RunStep, Thread
from chat.runs.overrides import run_assistant
from chat.serializers import step_usage
from chat.v1.ids import external, named

JsonObject = dict[str, Any]
# An active run's `expires_at`: the API's runs expire ten minutes after they were created.
RUN_EXPIRES_SECONDS = 600


def stamp(when: dt.datetime | None) -> int | None:
    return None if when is None else int(when.timestamp())


def assistant_object(assistant: Assistant) -> JsonObject:
    return {
        "id": external("assistant", assistant.pk),
        "object": "assistant",
        "created_at": stamp(assistant.created_at),
        "name": assistant.name,
        "description": assistant.description or None,
        "model": assistant.model,
        "instructions": assistant.instructions or None,
        "tools": assistant.tools or [],
        "tool_resources": {},
        "metadata": assistant.metadata or {},
        "temperature": assistant.temperature,
        "top_p": assistant.top_p,
        "response_format": assistant.response_format or "auto",
    }


def thread_object(thread: Thread) -> JsonObject:
    return {
        "id": external("thread", thread.pk),
        "object": "thread",
        "created_at": stamp(thread.created_at),
        "metadata": thread.metadata or {},
        "tool_resources": {},
    }


def message_object(message: Message, *, assistant_id: int | None = None) -> JsonObject:
    """`assistant_id`: the thread's assistant, named on the replies it wrote."""
    done = message.status != Message.Status.IN_PROGRESS
    incomplete = message.status == Message.Status.INCOMPLETE
    is_reply = message.role == Message.Role.ASSISTANT
    return {
        "id": named("msg", message.pk, message.upstream_message_id),
        "object": "thread.message",
        "created_at": stamp(message.created_at),
        "thread_id": external("thread", message.thread_id),
        "status": message.status,
        "incomplete_details": {"reason": "run_cancelled"} if incomplete else None,
        "completed_at": stamp(message.updated_at) if done and not incomplete else None,
        "incomplete_at": stamp(message.updated_at) if incomplete else None,
        "role": message.role,
        "content": text_content(message.content),
        "assistant_id": external("assistant", assistant_id) if is_reply else None,
        "run_id": external("run", message.run_id) if is_reply else None,
        "attachments": [],
        "metadata": message.metadata or {},
    }


def run_object(run: Run) -> JsonObject:
    assistant = run_assistant(run)  # with what this run changed of it
    ended = not run.is_active
    status = run.status
    return {
        "id": external("run", run.pk),
        "object": "thread.run",
        "created_at": stamp(run.created_at),
        "assistant_id": external("assistant", run.assistant_id),
        "thread_id": external("thread", run.thread_id),
        "status": status,
        "started_at": stamp(run.started_at),
        "expires_at": None if ended else (stamp(run.created_at) or 0) + RUN_EXPIRES_SECONDS,
        "cancelled_at": stamp(run.completed_at) if status == Run.Status.CANCELLED else None,
        "failed_at": stamp(run.completed_at) if status == Run.Status.FAILED else None,
        "completed_at": stamp(run.completed_at) if status == Run.Status.COMPLETED else None,
        "required_action": run.required_action if status == Run.Status.REQUIRES_ACTION else None,
        "last_error": run.last_error,
        "model": run.model or assistant.model,
        "instructions": assistant.instructions,
        "tools": assistant.tools or [],
        "metadata": run.metadata or {},
        "usage": _run_usage(run) if ended else None,
        "temperature": assistant.temperature,
        "top_p": assistant.top_p,
        "max_prompt_tokens": None,
        "max_completion_tokens": assistant.max_tokens,
        "truncation_strategy": assistant.truncation_strategy,
        "incomplete_details": None,
        "response_format": assistant.response_format or "auto",
        "tool_choice": assistant.tool_choice or "auto",
        "parallel_tool_calls": True,
    }


def _run_usage(run: Run) -> JsonObject:
    return {
        "prompt_tokens": run.prompt_tokens,
        "completion_tokens": run.completion_tokens,
        "total_tokens": run.total_tokens,
    }


def step_object(step: RunStep, *, run: Run) -> JsonObject:
    ended = step.status != RunStep.Status.IN_PROGRESS
    # Stored as the upstream streamed them; a message_creation step names the message by the
    # upstream's id, which is the message's API id too (`chat.v1.ids`).
    details = step.step_details if isinstance(step.step_details, dict) else {}
    return {
        "id": named("step", step.pk, step.upstream_step_id),
        "object": "thread.run.step",
        "created_at": stamp(step.created_at),
        "run_id": external("run", run.pk),
        "assistant_id": external("assistant", run.assistant_id),
        "thread_id": external("thread", run.thread_id),
        "type": step.type,
        "status": step.status,
        "cancelled_at": None,
        "completed_at": stamp(run.completed_at) if ended else None,
        "expires_at": None,
        "failed_at": None,
        "last_error": None,
        "step_details": details or {"type": step.type},
        "usage": step_usage(step.usage),
    }
