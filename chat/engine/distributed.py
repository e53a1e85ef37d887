"""Runs across processes, through Redis (active when REDIS_URL is set).

Every run's frames are appended to a Redis stream, `<REDIS_KEY_PREFIX>:run:<id>:log`, whose
entry ids are `0-<seq>`: the stream is the run's log, addressed by the same seq the browser
resumes from.
The process executing the run writes them in batches (`StreamSink`: one script call per turn of
the event loop, in order). A server process with sockets on the run's thread mirrors the stream
into an ordinary `RunLog` (`StreamTail`: one blocking XREAD for all the runs it watches) and
hands new frames to its sockets exactly as it does for a run executed in the process, so the
consumer's no-gap, no-duplicate delivery is the same code either way.

Control messages are few and go through the channel layer: `run.started` to the thread's group
when a run is queued or started, so that every process with sockets on the thread begins to
mirror it, and `run.settled` when a run was settled without its stream (a worker died). Runs
reach workers through a Redis list; cancels reach them on a pub/sub channel.

A stream is bounded (RUN_LOG_MAX_EVENTS) and expires RUN_LOG_TTL_SECONDS after its run ends.
A frame missing from a mirror (trimmed, or lost with a Redis restart) becomes a `resync` frame:
the browser then takes the run's state from the database.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import socket
import uuid
import weakref
from typing import Any
from urllib.parse import urlsplit

import hiredis
from channels.layers import get_channel_layer
from django.conf import settings
from redis.asyncio import Redis
from redis.asyncio.connection import (
    Connection,
    ConnectionPool,
    SSLConnection,
    UnixDomainSocketConnection,
    parse_url,
)
from redis.commands.core import AsyncScript
from redis.exceptions import DataError, RedisError

from assistants_proxy.events import TERMINAL_RUN_EVENTS
from chat.engine.runlog import Hub, RunLog

logger = logging.getLogger(__name__)

# While a run streams its log outlives any plausible run; after the end, RUN_LOG_TTL_SECONDS.
ACTIVE_LOG_TTL_SECONDS = 24 * 3600
ACTIVE_TTL_EVERY = 64  # frames between two renewals of a streaming log's TTL
SINK_BATCH_LIMIT = 2000  # frames per append script call
READ_BLOCK_MS = 5000
MAX_BACKOFF_SECONDS = 2.0
# A mirror pauses this long after handing a read's frames over, before its next read. Each
# XREAD names every stream the process watches; read again as soon as the last one was
# handled, a server process with 100 streams at 20 frames/s each issued several hundred a
# second, each carrying a few frames. With the pause each read carries more, the server
# processes spend a quarter less CPU on the mirror (and Redis a third less), and a frame waits
# at most 5 ms more: less than the queueing that CPU cost under load (`bench.topology`, 200
# streams: p50 9-15 ms before, 8.6-8.8 ms with the pause).
MIRROR_READ_PAUSE = 0.005
_TERMINAL = frozenset(TERMINAL_RUN_EVENTS)


def being_cancelled() -> bool:
    """True when the running task was asked to stop. redis-py may surface a cancelled command
    as a connection error: a retry loop must not mistake that for an outage and go on."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def enabled() -> bool:
    return bool(settings.REDIS_URL)


def _prefix() -> str:
    return str(settings.REDIS_KEY_PREFIX)


def log_key(run_id: int) -> str:
    return f"{_prefix()}:run:{run_id}:log"


def queue_key() -> str:
    return f"{_prefix()}:runs:queue"


def cancel_channel() -> str:
    return f"{_prefix()}:runs:cancel"


def thread_group(thread_id: int) -> str:
    return f"thread-{thread_id}"


def process_name() -> str:
    """A name for this process, unique across hosts and restarts (a worker's lease owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _HiredisPacking:
    """Commands packed by hiredis (C), as redis-py's synchronous client does; its asyncio
    client packs them in Python. Every frame is one XADD, and a server process's mirror names
    every stream it watches in each XREAD: packing was a sixth of a server process's CPU."""

    def pack_command(self, *args: Any) -> list[bytes]:
        name = args[0]
        if isinstance(name, str):
            args = (*name.encode().split(), *args[1:])
        elif b" " in name:
            args = (*name.split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            pass  # a bytearray or memoryview, maybe: as bytes
        args = tuple(bytes(a) if isinstance(a, bytearray | memoryview) else a for a in args)
        try:
            return [hiredis.pack_command(args)]
        except TypeError as exc:
            raise DataError(str(exc)) from exc


@functools.cache
def _connection_class(url: str) -> type[Connection]:
    base: type[Connection] = {
        "rediss": SSLConnection,
        "unix": UnixDomainSocketConnection,
    }.get(urlsplit(url).scheme, Connection)  # type: ignore[assignment]
    return type(f"Hiredis{base.__name__}", (_HiredisPacking, base), {})


def _client(url: str, *, socket_timeout: float) -> Redis:
    # The pool is made here, not by `Redis.from_url`: that replaces the connection class with
    # its own for rediss:// and unix:// URLs, and hiredis would pack for redis:// only.
    options: dict[str, Any] = {**parse_url(url), "connection_class": _connection_class(url)}
    pool = ConnectionPool(
        decode_responses=True,
        socket_connect_timeout=2.0,
        socket_timeout=socket_timeout,
        **options,
    )
    return Redis.from_pool(pool)


# Clients are per event loop: a redis.asyncio connection belongs to the loop that opened it.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Redis, Redis]] = (
    weakref.WeakKeyDictionary()
)


def _clients_for_loop() -> tuple[Redis, Redis]:
    loop = asyncio.get_running_loop()
    pair = _clients.get(loop)
    if pair is None:
        commands = _client(settings.REDIS_URL, socket_timeout=5.0)
        # Blocking reads wait up to READ_BLOCK_MS for data: their timeout must be longer.
        blocking = _client(settings.REDIS_URL, socket_timeout=READ_BLOCK_MS / 1000 + 5.0)
        pair = _clients[loop] = (commands, blocking)
    return pair


def redis() -> Redis:
    """The client for ordinary commands, on the running loop."""
    return _clients_for_loop()[0]


def blocking_redis() -> Redis:
    """The client for blocking reads (XREAD BLOCK, BRPOP, pub/sub), on the running loop."""
    return _clients_for_loop()[1]


async def notify(thread_id: int, message: dict[str, Any]) -> None:
    """A control message to every socket on the thread, in every process."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(thread_group(thread_id), message)
    except (RedisError, OSError) as exc:
        logger.warning("thread %s: could not send %s: %s", thread_id, message["type"], exc)


async def last_seq(run_id: int) -> int | None:
    """The seq of the last frame in the run's stream; None when there is no stream."""
    entries: Any = await redis().xrevrange(log_key(run_id), count=1)
    return _seq(str(entries[0][0])) if entries else None


def _seq(entry_id: str) -> int:
    return int(entry_id.partition("-")[2])


class StreamSink:
    """Appends frames to their runs' streams, in order, batched per turn of the loop.

    While Redis is unreachable, frames wait here and go out when it is back: the run goes on
    (sockets in this process are served from memory), and nothing is dropped or reordered.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[int, int, str, str]] = []  # run id, seq, frame, event
        self._ended: list[int] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    def add(self, log: RunLog, seq: int, event: str) -> None:
        self._pending.append((log.run_id, seq, log.frame(seq), event))
        self._kick()

    def end(self, log: RunLog) -> None:
        self._ended.append(log.run_id)
        self._kick()

    async def drain(self, seconds: float | None = None) -> bool:
        """Wait until every frame added so far is in Redis; False after `seconds`."""
        try:
            await asyncio.wait_for(self._idle.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def _kick(self) -> None:
        self._idle.clear()
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="stream-sink")

    async def _run(self) -> None:
        backoff = 0.05
        while True:
            if being_cancelled():
                raise asyncio.CancelledError
            if not (self._pending or self._ended):
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            # At most SINK_BATCH_LIMIT frames a call: after an outage the backlog goes out in
            # several scripts, not one that holds Redis (and every mirror's read) for long.
            # A run's end goes with the batch that holds its last frames.
            batch, self._pending = (
                self._pending[:SINK_BATCH_LIMIT],
                self._pending[SINK_BATCH_LIMIT:],
            )
            ended, self._ended = ([], self._ended) if self._pending else (self._ended, [])
            try:
                await self._write(batch, ended)
                backoff = 0.05
            except (RedisError, OSError) as exc:
                if being_cancelled():
                    raise
                logger.warning("run log: Redis write failed (%s); retrying", exc)
                self._pending[:0] = batch
                self._ended[:0] = ended
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _write(self, batch: list[tuple[int, int, str, str]], ended: list[int]) -> None:
        keys: dict[int, int] = {}  # run id -> its index in KEYS (1-based, as in Lua)
        entries: list[Any] = []
        touched: set[int] = set()
        for run_id, seq, frame, event in batch:
            index = keys.setdefault(run_id, len(keys) + 1)
            entries += (index, seq, frame, event)
            if seq % ACTIVE_TTL_EVERY == 1:
                # The active TTL with the first entry and then now and again (a stream that
                # Redis lost with a restart is made again by the next XADD, without one):
                # not one EXPIRE per frame.
                touched.add(run_id)
        expires: list[Any] = []
        for run_id in touched.difference(ended):
            expires += (keys[run_id], ACTIVE_LOG_TTL_SECONDS)
        for run_id in ended:
            expires += (keys.setdefault(run_id, len(keys) + 1), settings.RUN_LOG_TTL_SECONDS)
        args = [settings.RUN_LOG_MAX_EVENTS, len(batch), *entries, *expires]
        refused = await _append_script()(keys=[log_key(run_id) for run_id in keys], args=args)
        for reason in refused or ():
            logger.error("run log: Redis refused a write: %s", reason)


# One command per batch: a pipeline of one XADD per frame cost a reply to read and check per
# frame, a third of the Redis work of the process executing the runs. KEYS are the batch's
# streams; ARGV is the length bound, the number of entries, each entry as (key index, seq,
# frame, event), then (key index, seconds) pairs to EXPIRE. A new run's log (seq 1) starts
# empty, whatever a reset database left under its id. An entry whose id is not above the
# stream's last one was written by an earlier try of the same batch (its reply was lost):
# skipped. Any other refusal is returned.
_APPEND_LUA = """
local maxlen = ARGV[1]
local count = tonumber(ARGV[2])
local refused = {}
local i = 3
for _ = 1, count do
    local key = KEYS[tonumber(ARGV[i])]
    local seq = ARGV[i + 1]
    if seq == '1' then
        redis.call('DEL', key)
    end
    local reply = redis.pcall('XADD', key, 'MAXLEN', '~', maxlen, '0-' .. seq,
                              'f', ARGV[i + 2], 'e', ARGV[i + 3])
    if type(reply) == 'table' and reply.err and not string.find(reply.err, 'equal or smaller') then
        refused[#refused + 1] = reply.err
    end
    i = i + 4
end
while i <= #ARGV do
    redis.call('EXPIRE', KEYS[tonumber(ARGV[i])], ARGV[i + 1])
    i = i + 2
end
return refused
"""

_scripts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncScript] = (
    weakref.WeakKeyDictionary()
)


def _append_script() -> AsyncScript:
    """The append script on the running loop's client (EVALSHA; loaded again after a Redis
    restart emptied the script cache)."""
    loop = asyncio.get_running_loop()
    script = _scripts.get(loop)
    if script is None:
        script = _scripts[loop] = redis().register_script(_APPEND_LUA)
    return script


def gap_frame(run_id: int) -> str:
    """What a mirror holds for a frame it can no longer read."""
    data = {"id": run_id, "status": "in_progress", "reason": "frames_unavailable"}
    return json.dumps({"event": "resync", "run_id": run_id, "seq": None, "data": data})


class StreamTail:
    """Mirrors the streams of runs executed elsewhere into this process's hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.watched: dict[int, RunLog] = {}
        self._keys: dict[int, str] = {}  # each watched run's stream key, made once
        self._wake_key = f"{_prefix()}:wake:{uuid.uuid4().hex}"
        # What the next XREAD names: every watched stream with the last id read from it, and
        # the wake-up stream. Kept up to date as entries arrive, not made again for each read.
        self._streams: dict[Any, Any] = {self._wake_key: "0-0"}
        self._task: asyncio.Task[None] | None = None
        self._reading = False

    def watch(self, log: RunLog) -> None:
        if log.run_id in self.watched or log.ended:
            return
        self.watched[log.run_id] = log
        key = self._keys[log.run_id] = log_key(log.run_id)
        self._streams[key] = f"0-{log.last_seq}"
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="stream-tail")
        elif self._reading:
            # The read in flight does not name this stream yet: make it return now.
            asyncio.get_running_loop().create_task(self._wake())

    def forget(self, run_id: int) -> None:
        self.watched.pop(run_id, None)
        key = self._keys.pop(run_id, None)
        if key is not None:
            self._streams.pop(key, None)

    async def _wake(self) -> None:
        try:
            await redis().xadd(self._wake_key, {"w": "1"}, maxlen=1, approximate=False)
            await redis().expire(self._wake_key, 60)
        except (RedisError, OSError) as exc:
            logger.debug("stream tail: wake failed: %s", exc)

    async def _run(self) -> None:
        backoff = 0.05
        while self.watched:
            # redis-py retries a command whose connection broke, and a cancelled read looks
            # like that to it: a read can return to a task that was asked to stop.
            if being_cancelled():
                raise asyncio.CancelledError
            self._reading = True
            try:
                # The command is made before the read awaits: later changes go to the next.
                replies: Any = await blocking_redis().xread(
                    self._streams,
                    count=1000,
                    block=READ_BLOCK_MS,
                )
                backoff = 0.05
            except (RedisError, OSError) as exc:
                if being_cancelled():
                    raise
                logger.warning("stream tail: Redis read failed (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            finally:
                self._reading = False
            for key, entries in replies or ():
                if key == self._wake_key:
                    self._streams[key] = entries[-1][0]
                else:
                    await self._ingest(int(key.rsplit(":", 2)[1]), entries)
            await asyncio.sleep(MIRROR_READ_PAUSE)

    async def _ingest(self, run_id: int, entries: list[tuple[str, dict[str, str]]]) -> None:
        log = self.watched.get(run_id)
        if log is None:
            return
        ended = False
        for entry_id, fields in entries:
            seq = _seq(entry_id)
            if seq <= log.last_seq:
                continue
            while log.last_seq < seq - 1:
                log.append_frame(gap_frame(run_id))
            log.append_frame(fields["f"])
            ended = ended or fields.get("e") in _TERMINAL
        key = self._keys.get(run_id)
        if key is not None:
            self._streams[key] = f"0-{log.last_seq}"
        await self.hub.deliver(log, log.last_seq)
        if ended:
            self.forget(run_id)
            self.hub.close_log(log)


class DistributedHub(Hub):
    """The hub, plus Redis: logs of runs executed here are written to their streams, and logs of
    runs executed elsewhere are mirrored from theirs."""

    def __init__(self) -> None:
        super().__init__()
        self._mirrors: set[int] = set()
        # Per event loop, like the Redis clients (one loop per server process; tests run many).
        self._parts: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[StreamSink, StreamTail]
        ] = weakref.WeakKeyDictionary()

    def _loop_parts(self) -> tuple[StreamSink, StreamTail]:
        loop = asyncio.get_running_loop()
        parts = self._parts.get(loop)
        if parts is None:
            parts = self._parts[loop] = (StreamSink(), StreamTail(self))
        return parts

    @property
    def sink(self) -> StreamSink:
        return self._loop_parts()[0]

    async def publish(
        self, log: RunLog, event: str, data: dict[str, Any], raw: str | None = None
    ) -> int:
        seq = log.append(event, data, raw)
        # Into the batch for Redis first, then to this process's sockets: other processes'
        # sockets wait on Redis, these do not.
        self.sink.add(log, seq, event)
        await self.deliver(log, seq)
        return seq

    def close_log(self, log: RunLog) -> None:
        super().close_log(log)
        if log.run_id in self._mirrors:
            self._mirrors.discard(log.run_id)
            self._loop_parts()[1].forget(log.run_id)
        else:
            self.sink.end(log)

    def watch(self, run_id: int, thread_id: int) -> RunLog:
        """The run's log in this process: its own, or a mirror of its stream, kept current."""
        log = self.log(run_id)
        if log is not None:
            return log
        log = self.open_log(run_id, thread_id)
        self._mirrors.add(run_id)
        self._loop_parts()[1].watch(log)
        return log

    def is_mirror(self, run_id: int) -> bool:
        return run_id in self._mirrors
