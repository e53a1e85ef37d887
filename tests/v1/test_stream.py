"""Following a run's log for an API stream (`chat.v1.stream`), without a server."""

from __future__ import annotations

import asyncio

import pytest

from chat.fanout.runlog import Hub
from chat.v1 import stream
from chat.v1.wire import RunNames

NAMES = RunNames(run="run_1", thread="thread_7", assistant="asst_2", client_answers=lambda d: True)
DELTA = {"id": "msg_a", "object": "thread.message.delta", "delta": {"content": []}}
DONE_RUN = {"id": "run_up", "object": "thread.run", "status": "completed"}


async def test_it_streams_every_frame_then_done_and_unsubscribes() -> None:
    hub = Hub()
    log = hub.open_log(1, 7)
    follower = stream.RunFollower(hub, 7, 1)
    chunks = stream.events(follower, NAMES, after_seq=0)
    await hub.publish(log, "thread.message.delta", DELTA)
    first = await anext(chunks)
    await hub.publish(log, "thread.message.delta", DELTA)
    await hub.publish(hub.open_log(2, 7), "thread.message.delta", DELTA)  # another run
    await hub.publish(log, "thread.run.completed", DONE_RUN)
    rest = [chunk async for chunk in chunks]
    text = first + "".join(rest)
    assert text.count("event: thread.message.delta\n") == 2
    assert text.endswith('"status":"completed"}\n\nevent: done\ndata: [DONE]\n\n')
    assert '"id":"run_1"' in text
    assert not hub._subscribers.get(7)


async def test_a_silent_stream_gets_keep_alive_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "KEEPALIVE_SECONDS", 0.05)
    hub = Hub()
    log = hub.open_log(1, 7)
    chunks = stream.events(stream.RunFollower(hub, 7, 1), NAMES, after_seq=0)
    assert await asyncio.wait_for(anext(chunks), 1) == ": keep-alive\n\n"
    await hub.publish(log, "thread.run.completed", DONE_RUN)
    assert (await anext(chunks)).startswith("event: thread.run.completed\n")
    await chunks.aclose()


async def test_a_stream_nobody_reads_stops_following(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "KEEPALIVE_SECONDS", 0.02)
    monkeypatch.setattr(stream, "ABANDONED", 0.05)
    hub = Hub()
    stream.RunFollower(hub, 7, 1)
    assert hub._subscribers.get(7)
    await asyncio.sleep(0.2)
    assert not hub._subscribers.get(7)
