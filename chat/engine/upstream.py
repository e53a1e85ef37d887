"""From a run's context to the request its assistant's upstream protocol needs.

Stateful upstreams keep the conversation themselves: an Assistants server its thread, a
Responses server its previous response. For the stateless ones (Chat Completions, and
Responses when there is no previous response), the history comes from our database, within
the context budget, oldest messages dropped first as the assistant's `truncation_strategy`
says.
"""

from __future__ import annotations

from typing import Any

import httpx
from django.conf import settings

from assistants_proxy.client import AssistantsClient
from assistants_proxy.upstreams import RunRequest, Upstream, fit_history, make_upstream
from chat.engine import store
from chat.engine.writer import Writer


def upstream_for(ctx: store.RunContext, http: httpx.AsyncClient) -> Upstream:
    assistant = ctx.assistant
    return make_upstream(
        assistant.protocol,
        http,
        base_url=assistant.resolved_base_url(),
        api_key=assistant.api_key(),
        stall_timeout=settings.UPSTREAM_STALL_TIMEOUT,
        max_retries=settings.UPSTREAM_MAX_RETRIES,
    )


async def run_request(ctx: store.RunContext, upstream: Upstream, writer: Writer) -> RunRequest:
    assistant = ctx.assistant
    request = RunRequest(
        model=assistant.model,
        messages=fit_history(
            ctx.history,
            max_tokens=settings.CONTEXT_BUDGET_TOKENS,
            truncation_strategy=assistant.truncation_strategy or None,
        ),
        instructions=assistant.instructions or None,
        tools=list(assistant.tools or []),
        temperature=assistant.temperature,
        top_p=assistant.top_p,
        max_tokens=assistant.max_tokens,
    )
    if assistant.protocol == "assistants":
        request.thread_id = ctx.upstream_thread_id or None
        request.assistant_id = await _assistant_id(ctx, upstream, writer)
    elif assistant.protocol == "responses":
        request.thread_id = f"thread_local{ctx.thread_id}"
        request.previous_response_id = ctx.upstream_thread_id or None
    else:
        request.thread_id = f"thread_local{ctx.thread_id}"
    return request


async def _assistant_id(ctx: store.RunContext, upstream: Upstream, writer: Writer) -> str:
    """The assistant's id at an Assistants server, created there on first use."""
    assistant = ctx.assistant
    if not assistant.upstream_assistant_id:
        client: AssistantsClient = upstream.client  # type: ignore[attr-defined]
        created: dict[str, Any] = await client.create_assistant(
            model=assistant.model,
            name=assistant.name,
            instructions=assistant.instructions,
            tools=assistant.tools,
        )
        assistant.upstream_assistant_id = created["id"]
        writer.put(
            lambda: store.assistant_remember_upstream_id(
                assistant_id=assistant.pk, upstream_id=created["id"]
            )
        )
    return assistant.upstream_assistant_id
