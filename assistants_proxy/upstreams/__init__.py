"""Upstream adapters: one interface (`Upstream`) over every protocol a model is reached by.

    upstream = make_upstream("responses", http, base_url=..., api_key=...)
    async with upstream.start_run(RunRequest(model=..., messages=history)) as events:
        async for event in events:        # Assistants v2 events, whatever the protocol
            ...

`assistants` wraps the Assistants v2 client (the server keeps threads and runs);
`chat_completions` and `responses` translate their streams into Assistants v2 events and
keep what a run needs between its requests in memory. See docs/upstreams.md.
"""

from __future__ import annotations

import httpx

from assistants_proxy.client import DEFAULT_CONNECT_TIMEOUT, DEFAULT_STALL_TIMEOUT
from assistants_proxy.upstreams.assistants import AssistantsUpstream
from assistants_proxy.upstreams.base import RunRequest, RunStream, Upstream
from assistants_proxy.upstreams.chat import ChatCompletionsUpstream
from assistants_proxy.upstreams.history import fit_history
from assistants_proxy.upstreams.responses import ResponsesUpstream
from assistants_proxy.upstreams.transport import protocol_client

__all__ = [
    "PROTOCOLS",
    "AssistantsUpstream",
    "ChatCompletionsUpstream",
    "ResponsesUpstream",
    "RunRequest",
    "RunStream",
    "Upstream",
    "fit_history",
    "make_upstream",
]

PROTOCOLS = ("assistants", "chat_completions", "responses")


def make_upstream(
    protocol: str,
    http: httpx.AsyncClient,
    *,
    base_url: str,
    api_key: str | None = None,
    stall_timeout: float = DEFAULT_STALL_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    max_retries: int = 3,
) -> Upstream:
    """The adapter for `protocol`, over the caller's `httpx.AsyncClient`. `base_url` ends
    in the version, as OpenAI's SDKs want it (``https://api.openai.com/v1``)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown upstream protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    client = protocol_client(
        http,
        base_url=base_url,
        api_key=api_key,
        stall_timeout=stall_timeout,
        connect_timeout=connect_timeout,
        max_retries=max_retries,
        beta_header=protocol == "assistants",
    )
    if protocol == "assistants":
        return AssistantsUpstream(client)
    if protocol == "chat_completions":
        return ChatCompletionsUpstream(client)
    return ResponsesUpstream(client)
