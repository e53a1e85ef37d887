"""A run's second chance, before any of its events arrived: an upstream object this app
created and the upstream forgot is made again, or a history the model could not take is
trimmed to fit. Once per run, and said in the run's notes.

- Assistants: an upstream that restarted (the simulator keeps nothing; a self-hosted server
  may be reset) answers 404 for the assistant and the thread this app created there. The
  assistant is created again from its settings here; the thread, as a new one holding this
  thread's history from our database.
- Responses, chained to a previous response the server no longer has: the whole history is
  sent instead.
- Any protocol, a prompt over the model's context window (an HTTP 400 that says so, or a
  stream that ended with no reply after a long prompt): the oldest messages are dropped to
  fit the window the upstream named, or half the budget.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async

from assistants_proxy.errors import HTTPStatusError
from assistants_proxy.upstreams import RunRequest, Upstream, fit_history
from assistants_proxy.usage import estimate_tokens
from chat.runs import store
from chat.runs.branch_history import thread_history
from chat.runs.upstream import assistant_id, history_budget
from chat.runs.writer import Writer

Healed = tuple[RunRequest, list[str]]

# "context window of 2048", "maximum context length is 8192 tokens", "n_ctx: 2048"
_WINDOW = re.compile(r"(?:context(?: window| length)?|n_ctx)\D{0,20}?(\d{3,7})", re.IGNORECASE)


async def heal(
    ctx: store.RunContext, upstream: Upstream, request: RunRequest, exc: HTTPStatusError,
    writer: Writer,
) -> Healed | None:  # fmt: skip
    """The request again, healed, with what was done; None when a second try cannot help."""
    protocol = ctx.assistant.protocol
    if exc.status_code == 404 and protocol == "assistants":
        return await _assistants_objects(ctx, upstream, request, writer)
    if request.previous_response_id and _names_previous_response(exc):
        note = "The upstream no longer had the previous response: the whole history was sent."
        return await _with_whole_history(ctx, request, previous_response_id=None), [note]
    if exc.is_context_overflow:
        return fit_window(ctx, request, str(exc.body))
    return None


def fit_window(ctx: store.RunContext, request: RunRequest, refusal: str) -> Healed | None:
    """The history trimmed to the window the upstream named, or to half the budget; None
    when nothing older is left to drop (the new message alone is too long)."""
    named = _named_window(refusal)
    if named is not None:
        budget = history_budget(ctx.assistant, window=named)
    else:
        # No window known: half of what the model refused.
        sent = sum(estimate_tokens(str(m.get("content") or "")) for m in request.messages)
        budget = min(history_budget(ctx.assistant, harder=True), sent // 2)
    messages = fit_history(request.messages, max_tokens=budget)
    if len(messages) == len(request.messages):
        return None
    why = "the upstream refused the prompt as too long for the model's context window"
    note = left_out(len(request.messages) - len(messages), why)
    if named is not None and ctx.assistant.context_window is None:
        note += f" It names a window of {named} tokens: set it on the assistant."
    return dataclasses.replace(request, messages=messages), [note]


def left_out(count: int, why: str) -> str:
    """The run's note for older messages not sent."""
    what = "The oldest message was" if count == 1 else f"The {count} oldest messages were"
    return f"{what} left out: {why}."


def prompt_text(request: RunRequest) -> str:
    """What a request sends the model, as text: instructions, history and tools."""
    text = [request.instructions or "", *(str(m.get("content") or "") for m in request.messages)]
    return "\n".join(text) + (json.dumps(request.tools) if request.tools else "")


def prompt_tokens(request: RunRequest) -> int:
    """The request's prompt as the app estimates it."""
    return estimate_tokens(prompt_text(request))


async def _assistants_objects(
    ctx: store.RunContext, upstream: Upstream, request: RunRequest, writer: Writer
) -> Healed | None:
    client: Any = upstream.client  # type: ignore[attr-defined]
    notes = []
    if request.assistant_id and not await _exists(client.retrieve_assistant, request.assistant_id):
        forgotten = request.assistant_id
        ctx.assistant.upstream_assistant_id = ""
        request.assistant_id = await assistant_id(ctx.assistant, upstream, writer)
        notes.append(
            f"The upstream no longer knew assistant {forgotten}: it was created again from "
            f"this assistant's settings, as {request.assistant_id}."
        )
    if request.thread_id and not await _exists(client.retrieve_thread, request.thread_id):
        notes.append(
            f"The upstream no longer knew thread {request.thread_id}: a new one was made "
            f"from this thread's history."
        )
        request = await _with_whole_history(ctx, request, thread_id=None)
    return (request, notes) if notes else None


async def _exists(retrieve: Callable[[str], Awaitable[Any]], object_id: str) -> bool:
    try:
        await retrieve(object_id)
    except HTTPStatusError as exc:
        if exc.status_code == 404:
            return False
        raise
    return True


async def _with_whole_history(
    ctx: store.RunContext, request: RunRequest, **changes: Any
) -> RunRequest:
    history = await database_sync_to_async(thread_history)(ctx.thread_id, up_to=ctx.user_message_id)
    messages = fit_history(
        history,
        max_tokens=history_budget(ctx.assistant),
        truncation_strategy=ctx.assistant.truncation_strategy or None,
    )
    return dataclasses.replace(request, messages=messages, **changes)


def _names_previous_response(exc: HTTPStatusError) -> bool:
    # OpenAI: 400 "Previous response with id '...' not found."; others 404.
    return exc.status_code == 404 or "previous" in str(exc.body).lower()


def _named_window(refusal: str) -> int | None:
    found = _WINDOW.search(refusal)
    return int(found.group(1)) if found else None
