"""A run's log in its Redis stream (chat.fanout.redis_sink.StreamSink), on the real Redis.

Skips without REDIS_URL, and fails instead with REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pytest_django import Settings
from redis.asyncio import Redis

from chat.fanout.redis import log_key
from chat.fanout.redis_sink import ACTIVE_LOG_TTL_SECONDS, ACTIVE_TTL_EVERY, StreamSink
from chat.fanout.runlog import RunLog


async def entries(settings: Settings, run_id: int) -> list[tuple[str, str]]:
    client = Redis.from_url(settings.REDIS_URL, decode_responses=True)
    try:
        found = await client.xrange(log_key(run_id))
        return [(entry_id, fields["f"]) for entry_id, fields in found]
    finally:
        await client.aclose()


async def write(log: RunLog, *events: str) -> None:
    sink = StreamSink()
    for name in events:
        sink.add(log, log.append(name, {"n": name}), name)
    assert await sink.drain(5.0)


async def test_every_frame_of_a_run_is_in_its_stream_from_the_first(
    redis_settings: Settings,
) -> None:
    log = RunLog(run_id=1, thread_id=1)
    await write(log, "thread.message.created", "thread.run.created", "thread.message.delta")

    assert await entries(redis_settings, 1) == [("0-1", log.frame(1)), ("0-2", log.frame(2)),
                                                ("0-3", log.frame(3))]  # fmt: skip


async def test_a_new_run_replaces_what_a_reset_database_left_under_its_id(
    redis_settings: Settings,
) -> None:
    stale = RunLog(run_id=7, thread_id=1)
    await write(stale, *["thread.message.delta"] * 5)
    fresh = RunLog(run_id=7, thread_id=2)
    await write(fresh, "thread.message.created", "thread.run.created")

    assert await entries(redis_settings, 7) == [("0-1", fresh.frame(1)), ("0-2", fresh.frame(2))]


async def ttl(settings: Settings, run_id: int) -> int:
    client = Redis.from_url(settings.REDIS_URL, decode_responses=True)
    try:
        return int(await client.ttl(log_key(run_id)))
    finally:
        await client.aclose()


async def test_a_streaming_log_expires_one_day_on_and_an_ended_one_soon(
    redis_settings: Settings,
) -> None:
    # Never a log without a TTL (-1): not from its first frame, not after a stream Redis
    # lost is made again by a later frame, not once its run ended.
    log = RunLog(run_id=3, thread_id=1)
    await write(log, "thread.run.created")
    assert ACTIVE_LOG_TTL_SECONDS - 60 < await ttl(redis_settings, 3) <= ACTIVE_LOG_TTL_SECONDS

    client = Redis.from_url(redis_settings.REDIS_URL, decode_responses=True)
    await client.delete(log_key(3))  # as a Redis restart without persistence would
    await client.aclose()
    await write(log, *["thread.message.delta"] * ACTIVE_TTL_EVERY)
    assert ACTIVE_LOG_TTL_SECONDS - 60 < await ttl(redis_settings, 3) <= ACTIVE_LOG_TTL_SECONDS

    sink = StreamSink()
    sink.add(log, log.append("thread.run.completed", {}), "thread.run.completed")
    sink.end(log.run_id)
    assert await sink.drain(5.0)
    assert 0 < await ttl(redis_settings, 3) <= redis_settings.RUN_LOG_TTL_SECONDS


@pytest.mark.parametrize(
    "command",
    [
        ("XADD", "k", "MAXLEN", "~", 1000, "0-5", "f", '{"t":"h\u00e9llo \u2603"}', "e", "x"),
        ("XREAD", "COUNT", 1000, "BLOCK", 5000, "STREAMS", "a", "b", "0-1", "0-2"),
        ("CONFIG GET", "maxmemory"),
        ("SET", b"k", bytearray(b"v"), "PX", 1.5),
    ],
)
def test_commands_packed_by_hiredis_are_byte_for_byte_redis_pys(
    command: tuple[object, ...],
) -> None:
    from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection

    from chat.fanout.redis import _connection_class

    for url, base in [("redis://h:6379/0", Connection), ("rediss://h:6380/0", SSLConnection),
                      ("unix:///tmp/redis.sock", UnixDomainSocketConnection)]:  # fmt: skip
        packing = _connection_class(url)
        assert issubclass(packing, base)
        assert packing().pack_command(*command) != []
        assert b"".join(packing().pack_command(*command)) == b"".join(base().pack_command(*command))


async def test_a_batch_written_again_after_a_lost_reply_changes_nothing(
    redis_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    log = RunLog(run_id=11, thread_id=1)
    names = ["thread.run.created", "thread.message.delta", "thread.message.delta"]
    batch = [(11, log.append(name, {"n": name}), "", name) for name in names]
    batch = [(run_id, seq, log.frame(seq), name) for run_id, seq, _, name in batch]
    sink = StreamSink()
    await sink._write(batch, [])
    await sink._write(batch, [])  # as the sink's retry does when a reply was lost

    assert await entries(redis_settings, 11) == [(f"0-{seq}", frame) for _, seq, frame, _ in batch]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_a_write_redis_refuses_is_logged_and_the_others_are_written(
    redis_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    client = Redis.from_url(redis_settings.REDIS_URL, decode_responses=True)
    try:
        await client.set(log_key(12), "not a stream")
        good, bad = RunLog(run_id=13, thread_id=1), RunLog(run_id=12, thread_id=1)
        sink = StreamSink()
        seq_bad = bad.append("thread.message.delta", {"n": 1})
        seq_good = good.append("thread.message.delta", {"n": 2})
        await sink._write(
            [(12, seq_bad + 1, bad.frame(seq_bad), "thread.message.delta"),
             (13, seq_good, good.frame(seq_good), "thread.message.delta")], []
        )  # fmt: skip
    finally:
        await client.aclose()

    assert await entries(redis_settings, 13) == [("0-1", good.frame(1))]
    assert any("WRONGTYPE" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


@pytest.mark.parametrize("url", ["redis://h:6379/0", "rediss://h:6380/0", "unix:///tmp/r.sock"])
def test_every_kind_of_redis_url_gets_hiredis_packing(url: str) -> None:
    from redis.asyncio.connection import parse_url

    from chat.fanout.redis import _client, _HiredisPacking

    default = parse_url(url).get("connection_class")
    connection_class = _client(url, socket_timeout=1.0).connection_pool.connection_class
    assert issubclass(connection_class, _HiredisPacking)
    if default is not None:  # rediss:// and unix:// keep their transport
        assert issubclass(connection_class, default)


async def test_a_backlog_longer_than_a_batch_goes_out_whole_and_in_order(
    redis_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chat.fanout.redis_sink.SINK_BATCH_LIMIT", 2)
    log = RunLog(run_id=21, thread_id=1)
    sink = StreamSink()
    for n in range(7):
        sink.add(log, log.append("thread.message.delta", {"n": n}), "thread.message.delta")
    sink.end(log.run_id)
    assert await sink.drain(5.0)

    assert await entries(redis_settings, 21) == [(f"0-{i}", log.frame(i)) for i in range(1, 8)]
    assert 0 < await ttl(redis_settings, 21) <= redis_settings.RUN_LOG_TTL_SECONDS


async def test_frames_that_keep_coming_share_script_calls(redis_settings: Settings) -> None:
    # 200 streams at 20 frames/s add a frame every few turns of the loop: a call per turn
    # was a call for every few frames.
    sink, log, calls = StreamSink(), RunLog(run_id=9, thread_id=1), []
    write = sink._write

    async def counted(batch: list[Any], ended: list[int]) -> None:
        calls.append(len(batch))
        await write(batch, ended)

    sink._write = counted  # type: ignore[method-assign]
    for _ in range(100):
        sink.add(log, log.append("thread.message.delta", {}), "thread.message.delta")
        await asyncio.sleep(0.0002)
    assert await sink.drain(5.0)
    assert sum(calls) == 100 and len(await entries(redis_settings, 9)) == 100
    assert len(calls) <= 50  # about one per frame without the pause
