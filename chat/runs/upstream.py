"""Reaching a run's upstream: the one pooled HTTP client, the one adapter factory, and the
request a run's context turns into.

Stateful upstreams keep the conversation themselves: an Assistants server its thread, a
Responses server its previous response. For the stateless ones (Chat Completions, and
Responses when there is no previous response), the history comes from our database, within
the context budget, oldest messages dropped first as the assistant's `truncation_strategy`
says.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import ssl
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from django.conf import settings

from assistants_proxy import lean_http
from assistants_proxy.client import AssistantsClient
from assistants_proxy.upstreams import RunRequest, Upstream, fit_history, make_upstream
from assistants_proxy.usage import estimate_tokens
from chat.models import Assistant
from chat.runs import store
from chat.runs.branch_history import upstream_holds_history
from chat.runs.writer import Writer


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs about 25 ms of CPU: once per process, not per client.
    return httpx.create_ssl_context()


class _SharedClient:
    """One httpx client, so one pool of upstream connections, for everything an event loop
    asks of upstreams (runs, cancels, deletes, settling dead runs).

    A client per run opened a new connection per run (and, to an https upstream, a new TLS
    handshake); a pooled connection is reused by the next run as soon as a stream ends. The
    client lives while someone uses it and is closed with the last user, so no connection
    outlives the loop it belongs to. Streams hold their connection for their whole length:
    the pool has no limit on connections, only on the idle ones it keeps. Its sockets are
    read through `lean_http`, not anyio.
    """

    LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=200)

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[httpx.AsyncClient, list[int]]
        ] = weakref.WeakKeyDictionary()

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[httpx.AsyncClient]:
        loop = asyncio.get_running_loop()
        entry = self._by_loop.get(loop)
        if entry is None:
            pool = lean_http.transport(ssl_context=_ssl_context(), limits=self.LIMITS)
            entry = self._by_loop[loop] = (httpx.AsyncClient(transport=pool), [0])
        client, users = entry
        users[0] += 1
        try:
            yield client
        finally:
            users[0] -= 1
            if not users[0] and self._by_loop.get(loop) is entry:
                del self._by_loop[loop]  # a run starting meanwhile opens a new client
                await asyncio.shield(client.aclose())


upstream_http = _SharedClient().lease


def upstream_for(
    assistant: Assistant,
    http: httpx.AsyncClient,
    on_retry: Callable[[Exception, int], None] | None = None,
) -> Upstream:
    """The assistant's upstream adapter, with the operator's timeouts and retries;
    `on_retry` is told of each retry (`AssistantsClient.on_retry`)."""
    upstream = make_upstream(
        assistant.protocol,
        http,
        base_url=assistant.resolved_base_url(),
        api_key=assistant.api_key(),
        stall_timeout=settings.UPSTREAM_STALL_TIMEOUT,
        connect_timeout=settings.UPSTREAM_CONNECT_TIMEOUT,
        max_retries=settings.UPSTREAM_MAX_RETRIES,
    )
    upstream.client.on_retry = on_retry  # type: ignore[attr-defined]
    return upstream


async def run_request(ctx: store.RunContext, upstream: Upstream, writer: Writer) -> RunRequest:
    assistant = ctx.assistant
    request = RunRequest(
        model=assistant.model,
        messages=fit_history(
            ctx.history,
            max_tokens=history_budget(assistant),
            truncation_strategy=assistant.truncation_strategy or None,
        ),
        instructions=assistant.instructions or None,
        tools=list(assistant.tools or []),
        tool_choice=assistant.tool_choice or None,
        temperature=assistant.temperature,
        top_p=assistant.top_p,
        max_tokens=assistant.max_tokens,
    )
    if assistant.protocol == "assistants":
        request.thread_id = ctx.upstream_thread_id or None
        request.assistant_id = await assistant_id(assistant, upstream, writer)
    else:
        request.thread_id = f"thread_local{ctx.thread_id}"
    if assistant.protocol == "responses" and upstream_holds_history(
        assistant, ctx.upstream_thread_id
    ):
        request.previous_response_id = ctx.upstream_thread_id
    return request


# Room kept for the reply when the assistant sets no `max_tokens`: a quarter of the window.
REPLY_SHARE = 4


def history_budget(assistant: Assistant, *, harder: bool = False, window: int | None = None) -> int:
    """Tokens the history may take: the model's context window (`window`, or the
    assistant's) less the reply's room and what every request sends besides (instructions,
    tools); without a window, the operator's CONTEXT_BUDGET_TOKENS. `harder`, after the
    upstream refused a prompt as too long: half."""
    window = window or assistant.context_window
    if window is None:
        budget = int(settings.CONTEXT_BUDGET_TOKENS)
    else:
        reply = assistant.max_tokens or window // REPLY_SHARE
        fixed = estimate_tokens(assistant.instructions or "")
        fixed += estimate_tokens(json.dumps(assistant.tools or []))
        budget = window - reply - fixed
    return max(budget // 2 if harder else budget, 1)


async def assistant_id(assistant: Assistant, upstream: Upstream, writer: Writer) -> str:
    """The assistant's id at an Assistants server, created there on first use."""
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
