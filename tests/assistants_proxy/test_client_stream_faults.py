"""The client against streams that go wrong: malformed events, stalls, misuse."""

from __future__ import annotations

import time

import pytest
from client_upstream import Upstream, collect, names, thread_run

from assistants_proxy.errors import StallError
from assistants_proxy.events import StreamEvent

# -- what a stream can do wrong --------------------------------------------------------------


async def test_a_malformed_event_is_skipped_and_counted_and_the_reply_goes_on(
    upstream: Upstream,
) -> None:
    # One cut-off event amid the deltas carries no text: a tolerant client ends with the
    # whole message.
    async with upstream.client() as client:
        stream = client.stream_thread_and_run(**thread_run("/sim malformed=2 Hello"))
        received, run = await collect(stream)

    assert stream.skipped_events == 1
    assert run.run_status == "completed"
    assert run.texts() == ["Hello! How can I assist you today?"]
    assert names(received).count("thread.message.delta") == 9


async def test_a_stall_longer_than_the_stall_timeout_raises(upstream: Upstream) -> None:
    received: list[StreamEvent] = []

    started = time.monotonic()
    async with upstream.client(stall_timeout=0.3) as client:
        with pytest.raises(StallError):
            async with client.stream_thread_and_run(**thread_run("/sim stall=5 Hello")) as s:
                async for event in s:
                    received.append(event)

    assert time.monotonic() - started < 4
    assert 0 < names(received).count("thread.message.delta") < 9
    assert len(upstream.requests) == 1
    assert upstream.responses[0].is_closed


async def test_the_response_is_closed_when_the_callers_own_code_raises(
    upstream: Upstream,
) -> None:
    async with upstream.client() as client:
        with pytest.raises(LookupError):
            async with client.stream_thread_and_run(**thread_run("Hello")) as events:
                async for event in events:
                    if event.name == "thread.message.delta":
                        raise LookupError("the caller gave up")

    (response,) = upstream.responses
    assert response.is_closed


async def test_iterating_before_opening_the_stream_is_a_mistake(upstream: Upstream) -> None:
    async with upstream.client() as client:
        stream = client.stream_thread_and_run(**thread_run("Hello"))
        with pytest.raises(RuntimeError, match="async with"):
            async for _ in stream:
                pass

    assert upstream.requests == []
