"""A process's mirror of runs executed elsewhere (chat.fanout.redis_tail.StreamTail), on the
real Redis: it reads the streams through a connection of its own, not redis-py's client.

Skips without REDIS_URL, and fails instead with REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import asyncio

import pytest
from pytest_django import Settings
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection

from chat.fanout import redis_tail
from chat.fanout.redis import reader_connection
from chat.fanout.redis_sink import StreamSink
from chat.fanout.redis_tail import StreamTail
from chat.fanout.runlog import Hub, RunLog


async def mirrored(mirror: RunLog, count: int) -> list[str]:
    """The mirror's frames once it holds `count` of them (5 s at most)."""
    for _ in range(500):
        if len(mirror.frames) >= count:
            break
        await asyncio.sleep(0.01)
    return list(mirror.frames)


async def dropped(settings: Settings, name: str) -> None:
    """Redis closes the connection of that name (its read in flight)."""
    admin = Redis.from_url(settings.REDIS_URL, decode_responses=True)
    try:
        ids = [c["id"] for c in await admin.client_list() if c["name"] == name]
        assert len(ids) == 1
        assert await admin.client_kill_filter(_id=ids[0]) == 1
    finally:
        await admin.aclose()


async def written(sink: StreamSink, log: RunLog, *events: str) -> None:
    for name in events:
        sink.add(log, log.append(name, {"n": name}), name)
    assert await sink.drain(5.0)


async def test_a_mirror_goes_on_after_redis_drops_its_connection(
    redis_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"{redis_settings.REDIS_KEY_PREFIX}:mirror"

    def named() -> AbstractConnection:  # so that this test can find it in CLIENT LIST
        connection = reader_connection()
        connection.client_name = name
        return connection

    monkeypatch.setattr(redis_tail, "reader_connection", named)
    source, sink = RunLog(run_id=41, thread_id=4), StreamSink()
    tail = StreamTail(Hub())
    mirror = RunLog(run_id=41, thread_id=4)
    tail.watch(mirror)
    await written(sink, source, "thread.run.created", "thread.message.delta")
    assert await mirrored(mirror, 2) == source.frames[:2]

    await dropped(redis_settings, name)
    await written(sink, source, "thread.message.delta", "thread.run.completed")

    assert await mirrored(mirror, 4) == source.frames
    assert mirror.run_id not in tail.watched  # its end read: no longer watched
    assert tail._task is not None
    await asyncio.wait_for(tail._task, 5.0)  # and the mirror stops with nothing to watch
