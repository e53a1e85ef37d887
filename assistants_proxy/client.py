"""An async client for Assistants API v2 servers, over an injected `httpx.AsyncClient`.

Streaming calls return an `EventStream`, used as `async with client.stream_run(...) as events:
async for event in events: ...`; leaving the block always closes the response.

Timeouts are explicit: a slow model may think for minutes before its first token, so the read
timeout (the longest silence allowed between two chunks) is `stall_timeout`, 120 s by
default, not httpx's 5 s. Connection errors, 429 and 5xx are retried with backoff that honours
`Retry-After`, but only before the stream has started, that is until the upstream answers
2xx: once it has, a retry would start a second run, and once an event has been received it
would replay text the caller has already relayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any

import httpx

from assistants_proxy.errors import (
    HTTPStatusError,
    MalformedEventError,
    ProtocolError,
    StallError,
    TransportError,
)
from assistants_proxy.events import STREAM_END_EVENTS, StreamEvent, parse_event
from assistants_proxy.sse import ServerSentEvent, SSEBody

logger = logging.getLogger(__name__)

DEFAULT_STALL_TIMEOUT = 120.0
DEFAULT_CONNECT_TIMEOUT = 10.0
MAX_RETRY_AFTER = 30.0


def default_timeout(
    stall_timeout: float = DEFAULT_STALL_TIMEOUT, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
) -> httpx.Timeout:
    return httpx.Timeout(connect=connect_timeout, read=stall_timeout, write=30.0, pool=10.0)


class AssistantsClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str | None = None,
        max_retries: int = 3,
        backoff: float = 0.5,
        stall_timeout: float = DEFAULT_STALL_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff = backoff
        self.timeout = default_timeout(stall_timeout, connect_timeout)
        self._sleep = sleep
        # Told of each retry (its error and number) before its wait: a caller's record of
        # what the upstream answered first (the app's run timeline).
        self.on_retry: Callable[[Exception, int], None] | None = None
        self.headers = {"OpenAI-Beta": "assistants=v2", "Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"

    # -- plain JSON endpoints --------------------------------------------------------------

    async def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A plain POST under the base URL (a non-streamed completion, say)."""
        return await self._json("POST", path, body)

    async def create_assistant(self, **body: Any) -> dict[str, Any]:
        return await self._json("POST", "/assistants", body)

    async def retrieve_assistant(self, assistant_id: str) -> dict[str, Any]:
        return await self._json("GET", f"/assistants/{assistant_id}")

    async def create_thread(self, **body: Any) -> dict[str, Any]:
        return await self._json("POST", "/threads", body)

    async def retrieve_thread(self, thread_id: str) -> dict[str, Any]:
        return await self._json("GET", f"/threads/{thread_id}")

    async def delete_thread(self, thread_id: str) -> dict[str, Any]:
        return await self._json("DELETE", f"/threads/{thread_id}")

    async def create_message(self, thread_id: str, **body: Any) -> dict[str, Any]:
        return await self._json("POST", f"/threads/{thread_id}/messages", body)

    async def list_messages(self, thread_id: str, **params: Any) -> dict[str, Any]:
        return await self._json("GET", f"/threads/{thread_id}/messages", params=params)

    async def retrieve_run(self, thread_id: str, run_id: str) -> dict[str, Any]:
        return await self._json("GET", f"/threads/{thread_id}/runs/{run_id}")

    async def cancel_run(self, thread_id: str, run_id: str) -> dict[str, Any]:
        return await self._json("POST", f"/threads/{thread_id}/runs/{run_id}/cancel", {})

    # -- streaming endpoints ---------------------------------------------------------------

    def stream_run(self, thread_id: str, **body: Any) -> EventStream:
        return self._stream(f"/threads/{thread_id}/runs", body)

    def stream_thread_and_run(self, **body: Any) -> EventStream:
        return self._stream("/threads/runs", body)

    def stream_submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: list[dict[str, Any]], **body: Any
    ) -> EventStream:
        body["tool_outputs"] = tool_outputs
        return self._stream(f"/threads/{thread_id}/runs/{run_id}/submit_tool_outputs", body)

    def _stream(self, path: str, body: dict[str, Any]) -> EventStream:
        return EventStream(SSERequest(self, path, {**body, "stream": True}))

    # -- plumbing --------------------------------------------------------------------------

    async def _json(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        async def send() -> httpx.Response:
            return await self.http.request(
                method,
                self.base_url + path,
                json=body,
                params=params,
                headers=self.headers,
                timeout=self.timeout,
            )

        response = await self.with_retries(send)
        data = _json_body(response)
        if not isinstance(data, dict):
            raise ProtocolError(f"{method} {path}: expected a JSON object")
        return data

    async def with_retries(self, send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        """Send until a 2xx answer, retrying what is worth it; raise the last error."""
        attempt = 0
        while True:
            try:
                response = await _send_checked(send)
                return response
            except (TransportError, HTTPStatusError) as exc:
                if not exc.retryable or attempt >= self.max_retries:
                    raise
                if self.on_retry is not None:
                    self.on_retry(exc, attempt + 1)
                await self._sleep(self._delay(exc, attempt))
                attempt += 1

    def _delay(self, exc: Exception, attempt: int) -> float:
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        # Full jitter, so that many runs failing together do not retry together.
        return random.uniform(0, self.backoff * 2**attempt)  # noqa: S311


class SSERequest:
    """One streaming POST: `await open()` (with retries), then `events()`, then `aclose()`.

    Every protocol's streams are read through this: the Assistants client's `EventStream`
    parses its events, the stateless adapters translate theirs. Set `finished` once the
    reply's last event has been read: closing then keeps the connection for the next request
    (`SSEBody.release`)."""

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

    @property
    def body(self) -> SSEBody:
        if self._events is None:
            raise RuntimeError("open() the request before reading its events")
        return self._events

    async def events(self) -> AsyncIterator[ServerSentEvent]:
        with stream_errors():
            async for sse in self.body.events():
                yield sse

    async def aclose(self) -> None:
        if self._events is not None:
            await self._events.release(finished=self.finished)
        elif self.response is not None:
            await self.response.aclose()


class EventStream:
    """An async context manager over one Assistants streaming request, yielding typed
    events."""

    def __init__(self, request: SSERequest) -> None:
        self._request = request
        self._opened = False
        self.events_received = 0
        self.skipped_events = 0  # malformed events passed over

    async def __aenter__(self) -> EventStream:
        await self._request.open()
        self._opened = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the response; after the stream's last event, its connection is kept for
        the next request (`SSEBody.release`)."""
        await self._request.aclose()

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        if not self._opened:
            raise RuntimeError("use `async with` before iterating an EventStream")
        # The body's events read directly, not through `SSERequest.events`: one async
        # generator fewer per token.
        with stream_errors():
            async for sse in self._request.body.events():
                try:
                    event = parse_event(sse.event, sse.data)
                except MalformedEventError as exc:
                    self.skipped_events += skip_malformed(exc)
                    continue
                self.events_received += 1
                if event.name in STREAM_END_EVENTS:
                    self._request.finished = True
                yield event
                if event.name == "done":
                    return


@contextlib.contextmanager
def stream_errors() -> Iterator[None]:
    """httpx's errors while a stream is read, as this library's."""
    try:
        yield
    except httpx.ReadTimeout:
        raise StallError("the upstream stream went silent") from None
    except (httpx.TransportError, httpx.StreamError) as exc:
        # StreamError: the response was closed under us, which is how a cancel stops a read
        # that is waiting for the next chunk.
        raise TransportError(f"the upstream stream broke: {exc!r}") from None


def skip_malformed(exc: MalformedEventError) -> int:
    """A malformed event is passed over, not fatal: a server that garbles one event of a
    reply has usually sent the text in the others, and a tolerant client finishes the reply.
    Logged with what was sent; returns 1, for the caller's count."""
    logger.warning("upstream sent a malformed %s event, skipped: %s", exc.event or "?", exc)
    return 1


async def _send_checked(send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
    try:
        response = await send()
    except httpx.ReadTimeout:
        # Connected and sent, then no answer within `stall_timeout`.
        raise StallError("the upstream went silent before answering") from None
    except httpx.TimeoutException as exc:
        raise TransportError(f"upstream timed out: {exc!r}") from None
    except httpx.TransportError as exc:
        raise TransportError(f"upstream unreachable: {exc!r}") from None
    if response.is_error:
        raise HTTPStatusError(
            response.status_code,
            _json_body(response, strict=False),
            retry_after=_retry_after(response),
            url=str(response.request.url),
        )
    return response


def _json_body(response: httpx.Response, *, strict: bool = True) -> Any:
    try:
        return response.json()
    except ValueError:
        if strict:
            raise ProtocolError(f"expected JSON, got {response.text[:200]!r}") from None
        return response.text


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # the other form RFC 9110 allows: an HTTP date
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # unreadable: fall back to our own backoff rather than fail the request
    return max(0.0, parsed.timestamp() - time.time())
