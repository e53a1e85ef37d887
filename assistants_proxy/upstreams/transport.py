"""HTTP for the stateless protocols, on the Assistants client's plumbing.

`AssistantsClient` already owns what every upstream needs: the injected `httpx.AsyncClient`,
the base URL and key, the explicit timeouts (`stall_timeout` as the read timeout) and
`with_retries` (connection errors, 408/409/429/5xx, `Retry-After`), which only ever runs
while a request is being opened, so a stream that has yielded an event is never replayed;
and `SSERequest`, which opens one streaming POST with it and yields the raw server-sent
events that the protocol's translator turns into Assistants v2 events.
"""

from __future__ import annotations

import httpx

from assistants_proxy.client import AssistantsClient


def protocol_client(
    http: httpx.AsyncClient,
    *,
    base_url: str,
    api_key: str | None,
    stall_timeout: float,
    connect_timeout: float,
    max_retries: int,
    beta_header: bool = False,
) -> AssistantsClient:
    client = AssistantsClient(
        http,
        base_url=base_url,
        api_key=api_key,
        stall_timeout=stall_timeout,
        connect_timeout=connect_timeout,
        max_retries=max_retries,
    )
    # The beta header only means something to Assistants servers; strict proxies reject
    # headers they do not know, so the other protocols do not send it.
    if not beta_header:
        client.headers.pop("OpenAI-Beta", None)
    return client
