"""The client against small local servers, for what the simulator never does."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from client_upstream import Upstream, collect, names

from assistants_proxy.client import MAX_RETRY_AFTER
from assistants_proxy.errors import HTTPStatusError, ProtocolError, StallError, TransportError
from tests.servers import serve_asgi

# -- what the simulator never does: a few local servers --------------------------------------


Send = Callable[[dict[str, Any]], Awaitable[None]]


def asgi_app(answer: Callable[[int, Send], Awaitable[None]]) -> Any:
    """An ASGI app that hands each request, numbered from 0, to `answer`."""
    count = 0

    async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
        nonlocal count
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        number, count = count, count + 1
        await answer(number, send)

    return app


async def respond(send: Send, status: int, body: bytes, **headers: str) -> None:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


SSE_OK = (
    b'event: thread.run.completed\ndata: {"status": "completed"}\n\nevent: done\ndata: [DONE]\n\n'
)


def failing_then_ok(status: int, body: bytes, **headers: str) -> Any:
    async def answer(number: int, send: Send) -> None:
        if number == 0:
            await respond(send, status, body, **headers)
        else:
            await respond(send, 200, SSE_OK, content_type="text/event-stream")

    return asgi_app(answer)


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [
        ("2", 2.0, 2.0),
        ("0", 0.0, 0.0),
        ("600", MAX_RETRY_AFTER, MAX_RETRY_AFTER),
        ("soon", 0.0, 0.5),  # unreadable: our own backoff
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, 0.0),  # a date in the past: at once
    ],
)
async def test_retry_after_in_every_form(retry_after: str, low: float, high: float) -> None:
    app = failing_then_ok(503, b'{"error": {"message": "busy"}}', retry_after=retry_after)

    with serve_asgi(app) as url:
        upstream = Upstream(url)
        async with upstream.client(backoff=0.5) as client:
            events, run = await collect(client.stream_thread_and_run(assistant_id="a"))

    assert upstream.statuses == [503, 200]
    assert len(upstream.sleeps) == 1 and low <= upstream.sleeps[0] <= high
    assert names(events) == ["thread.run.completed", "done"] and run.run_status == "completed"


async def test_retry_after_as_a_future_date() -> None:
    when = email.utils.formatdate(time.time() + 10, usegmt=True)
    app = failing_then_ok(429, b"{}", retry_after=when)

    with serve_asgi(app) as url:
        upstream = Upstream(url)
        async with upstream.client() as client:
            await collect(client.stream_thread_and_run(assistant_id="a"))

    (delay,) = upstream.sleeps
    assert 8 <= delay <= 10


async def test_an_error_body_that_is_not_json_is_kept_as_text() -> None:
    app = failing_then_ok(502, b"<html>Bad gateway</html>", content_type="text/html")

    with serve_asgi(app) as url:
        upstream = Upstream(url)
        async with upstream.client(max_retries=0) as client:
            with pytest.raises(HTTPStatusError) as caught:
                await collect(client.stream_thread_and_run(assistant_id="a"))

    assert caught.value.status_code == 502
    assert caught.value.body == "<html>Bad gateway</html>"
    assert "Bad gateway" in str(caught.value)


async def test_a_success_that_is_not_an_event_stream_is_a_protocol_error() -> None:
    async def answer(number: int, send: Send) -> None:
        await respond(send, 200, b'{"id": "run_1"}', content_type="application/json")

    with serve_asgi(asgi_app(answer)) as url:
        upstream = Upstream(url)
        async with upstream.client() as client:
            with pytest.raises(ProtocolError, match="application/json"):
                await collect(client.stream_thread_and_run(assistant_id="a"))

    assert upstream.responses[0].is_closed


async def test_a_server_silent_before_answering_is_a_stall() -> None:
    async def answer(number: int, send: Send) -> None:
        await asyncio.sleep(0.8)
        await respond(send, 200, SSE_OK, content_type="text/event-stream")

    with serve_asgi(asgi_app(answer)) as url:
        upstream = Upstream(url)
        async with upstream.client(stall_timeout=0.2, max_retries=0) as client:
            with pytest.raises(StallError) as caught:
                await collect(client.stream_thread_and_run(assistant_id="a"))

    assert isinstance(caught.value, TransportError) and caught.value.retryable


async def test_a_plain_json_endpoint_answering_garbage_is_a_protocol_error() -> None:
    async def answer(number: int, send: Send) -> None:
        await respond(send, 200, b"not json", content_type="application/json")

    with serve_asgi(asgi_app(answer)) as url:
        upstream = Upstream(url)
        async with upstream.client() as client:
            with pytest.raises(ProtocolError, match="expected JSON"):
                await client.retrieve_thread("thread_1")
