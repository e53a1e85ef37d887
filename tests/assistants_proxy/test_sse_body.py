"""SSEBody gives a connection back only once its body ended after the last event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from assistants_proxy.sse import SSEBody

# -- SSEBody: the end of a body after its last event, over a real socket ---------------------

_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
         b"transfer-encoding: chunked\r\n\r\n")  # fmt: skip


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@asynccontextmanager
async def _server(after_last_event: bytes) -> AsyncIterator[tuple[int, list[int]]]:
    """Answers every request on a connection with one event, then `after_last_event`; counts
    the connections it accepts."""
    accepted: list[int] = []
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        accepted.append(1)
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(_HEAD + _chunk(b"event: thread.run.completed\ndata: {}\n\n"))
                await writer.drain()
                writer.write(after_last_event)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield srv.sockets[0].getsockname()[1], accepted
    finally:
        srv.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _read_first_event_then_release(
    http: httpx.AsyncClient, port: int, finished: bool
) -> None:
    request = http.build_request("GET", f"http://127.0.0.1:{port}/")
    body = SSEBody(await http.send(request, stream=True))
    async for event in body.events():
        assert event.event == "thread.run.completed"
        break
    await body.release(finished=finished)
    assert body.response.is_closed


@pytest.mark.parametrize(
    ("finished", "connections"),
    [(True, 1), (False, 3)],
    ids=["read-to-its-last-event-gives-its-connection-back", "released-unfinished-closes-it"],
)
async def test_a_body_released_keeps_its_connection_only_when_finished(
    finished: bool, connections: int
) -> None:
    end = _chunk(b"event: done\ndata: [DONE]\n\n") + b"0\r\n\r\n"
    async with _server(end) as (port, accepted), httpx.AsyncClient() as http:
        for _ in range(3):
            await _read_first_event_then_release(http, port, finished=finished)
    assert len(accepted) == connections


async def test_a_body_that_does_not_end_after_its_last_event_is_closed_within_the_budget() -> None:
    async with _server(b"") as (port, accepted), httpx.AsyncClient() as http:
        started = asyncio.get_running_loop().time()
        await _read_first_event_then_release(http, port, finished=True)
        waited = asyncio.get_running_loop().time() - started
        await _read_first_event_then_release(http, port, finished=True)
    assert len(accepted) == 2  # the first connection was not reused with its body unread
    assert waited < SSEBody.DRAIN_SECONDS + 2.0


async def test_a_body_that_goes_on_with_more_events_is_closed_not_read_to_the_end() -> None:
    endless = _chunk(b"event: ping\ndata: {}\n\n") * (SSEBody.DRAIN_EVENTS + 5)
    async with _server(endless) as (port, accepted), httpx.AsyncClient() as http:
        await _read_first_event_then_release(http, port, finished=True)
        await _read_first_event_then_release(http, port, finished=True)
    assert len(accepted) == 2
