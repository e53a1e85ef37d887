"""The JSON shapes of the API (documented in docs/api.md). Datetimes stay datetimes here;
`JsonResponse`'s encoder writes them as ISO 8601."""

from __future__ import annotations

from typing import Any

from chat.models import Assistant, Message, Run, Thread


def thread_json(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.pk,
        "title": thread.title,
        "assistant_id": thread.assistant_id,
        "created_at": thread.created_at,
        "updated_at": thread.updated_at,
    }


def message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "role": message.role,
        "content": message.content,
        "status": message.status,
        "run_id": message.run_id,
        "created_at": message.created_at,
    }


def run_json(run: Run) -> dict[str, Any]:
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
