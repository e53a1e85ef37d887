"""HTTP for the stateless protocols, on the Assistants client's plumbing.

`AssistantsClient` already owns what every upstream needs: the injected `httpx.AsyncClient`,
the base URL and key, the explicit timeouts (`stall_timeout` as the read timeout) and
`with_retries` (connection errors, 408/409/429/5xx, `Retry-After`), which only ever runs
while a request is being opened, so a stream that has yielded an event is never replayed.
`SSERequest` opens one streaming POST with it and yields the raw server-sent events, which
the protocol's translator turns into Assistants v2 events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from assistants_proxy.client import AssistantsClient
from assistants_proxy.errors import StallError, TransportError
from assistants_proxy.sse import ServerSentEvent, SSEBody


def protocol_client(
    http: httpx.AsyncClient,
    *,
    base_url: str,
    api_key: str | None,
    stall_timeout: float,
    max_retries: int,
    beta_header: bool = False,
) -> AssistantsClient:
    client = AssistantsClient(
        http,
        base_url=base_url,
        api_key=api_key,
        stall_timeout=stall_timeout,
        max_retries=max_retries,
    )
    # The beta header only means something to Assistants servers; strict proxies reject
    # headers they do not know, so the other protocols do not send it.
    if not beta_header:
        client.headers.pop("OpenAI-Beta", None)
    return client


class SSERequest:
    """One streaming POST: `await open()` (with retries), then `events()`, then `aclose()`.

    Set `finished` once the reply's last event has been read: closing then keeps the
    connection for the next request (`SSEBody.release`)."""

    def __init__(self, client: AssistantsClient, path: str, body: dict[str, Any]) -> None:
        self._client = client
        self._url = client.base_url + path
        self._body = body
        self.response: httpx.Response | None = None
        self._events: SSEBody | None = None
        self.finished = False

    async def open(self) -> None:
        self.response = await self._client.with_retries(self._send)
        self._events = SSEBody(self.response)

    async def _send(self) -> httpx.Response:
        client = self._client
        headers = {**client.headers, "Accept": "text/event-stream"}
        request = client.http.build_request(
            "POST", self._url, json=self._body, headers=headers, timeout=client.timeout
        )
        response = await client.http.send(request, stream=True)
        if response.is_error:  # read the error body for HTTPStatusError, free the connection
            await response.aread()
            await response.aclose()
        return response

    async def events(self) -> AsyncIterator[ServerSentEvent]:
        if self._events is None:
            raise RuntimeError("open() the request before reading its events")
        try:
            async for sse in self._events.events():
                yield sse
        except httpx.ReadTimeout:
            raise StallError("the upstream stream went silent") from None
        except (httpx.TransportError, httpx.StreamError) as exc:
            # StreamError: the response was closed under us, which is how a cancel stops
            # a read that is waiting for the next chunk.
            raise TransportError(f"the upstream stream broke: {exc!r}") from None

    async def aclose(self) -> None:
        if self._events is not None:
            await self._events.release(finished=self.finished)
        elif self.response is not None:
            await self.response.aclose()
