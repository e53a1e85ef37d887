"""The client retries a failed request before the first event only, after the server's delay."""

from __future__ import annotations

import asyncio
import time

import pytest
from client_upstream import Upstream, collect, names, thread_run, unique

from assistants_proxy.errors import HTTPStatusError, TransportError
from assistants_proxy.events import StreamEvent
from tests.servers import free_port

# -- retries, before the first event only ----------------------------------------------------


async def test_a_429_is_retried_after_the_retry_after_delay(upstream: Upstream) -> None:
    text = unique("/sim status=429 times=1 Hello")

    async with upstream.client() as client:
        _, run = await collect(client.stream_thread_and_run(**thread_run(text)))

    assert upstream.statuses == [429, 200]
    assert upstream.sleeps == [1.0]
    assert run.run_status == "completed" and run.texts()[0]


async def test_retry_after_is_honoured_for_real(upstream: Upstream) -> None:
    text = unique("/sim status=503 times=1 Hello")

    started = time.monotonic()
    async with upstream.client(sleep=asyncio.sleep) as client:
        _, run = await collect(client.stream_thread_and_run(**thread_run(text)))

    assert time.monotonic() - started >= 1.0
    assert upstream.statuses == [503, 200]
    assert run.run_status == "completed" and run.texts()[0]


async def test_retries_give_up_with_the_last_status_and_error_body(upstream: Upstream) -> None:
    text = unique("/sim status=500 times=10 Hello")

    async with upstream.client(max_retries=2) as client:
        with pytest.raises(HTTPStatusError) as caught:
            await collect(client.stream_thread_and_run(**thread_run(text)))

    error = caught.value
    assert error.status_code == 500
    assert error.retryable
    assert isinstance(error.body, dict) and error.body["error"]["message"]
    assert error.error_message == error.body["error"]["message"]
    assert error.error_message in str(error)
    assert error.retry_after == 1.0
    assert upstream.statuses == [500, 500, 500]
    assert upstream.sleeps == [1.0, 1.0]
    assert all(r.is_closed for r in upstream.responses)


async def test_a_bad_request_is_not_retried(upstream: Upstream) -> None:
    async with upstream.client() as client:
        with pytest.raises(HTTPStatusError) as caught:
            await collect(client.stream_thread_and_run(**thread_run("/sim stmap Hello")))

    assert caught.value.status_code == 400
    assert not caught.value.retryable
    assert caught.value.body["error"]["code"] == "invalid_directive"
    assert "stmap" in caught.value.error_message
    assert upstream.statuses == [400]
    assert upstream.sleeps == []


async def test_a_stream_dropped_after_its_first_events_is_not_retried(upstream: Upstream) -> None:
    received: list[StreamEvent] = []

    async with upstream.client() as client:
        stream = client.stream_thread_and_run(**thread_run(unique("/sim drop-after=5 Hello")))
        with pytest.raises(TransportError, match="broke") as caught:
            async with stream as events:
                async for event in events:
                    received.append(event)

    assert caught.value.retryable  # worth a retry to the caller, but not by replaying text
    assert names(received).count("thread.message.delta") == 5
    assert stream.events_received == len(received)
    assert len(upstream.requests) == 1
    assert upstream.sleeps == []
    assert upstream.responses[0].is_closed


async def test_a_refused_connection_is_retried_with_backoff_then_raised() -> None:
    upstream = Upstream(f"http://127.0.0.1:{free_port()}/v1")

    async with upstream.client(max_retries=2, backoff=0.5) as client:
        with pytest.raises(TransportError, match="unreachable"):
            await client.create_thread()

    assert len(upstream.requests) == 3
    assert len(upstream.sleeps) == 2
    assert 0 <= upstream.sleeps[0] <= 0.5 and 0 <= upstream.sleeps[1] <= 1.0
