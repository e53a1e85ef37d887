"""Mirroring the Redis streams of runs executed elsewhere into this process's hub.

A server process with sockets on a run's thread mirrors the run's stream into an ordinary
`RunLog`, with one blocking XREAD for all the runs it watches, and hands new frames to its
sockets exactly as it does for a run executed in the process: the consumer's no-gap,
no-duplicate delivery is the same code either way. A frame missing from a mirror (trimmed, or
lost with a Redis restart) becomes a `resync` frame: the browser then takes the run's state
from the database.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.asyncio.connection import AbstractConnection

from assistants_proxy.events import TERMINAL_RUN_EVENTS
from chat.fanout.redis import (
    OUTAGE,
    READ_BLOCK_MS,
    entry_seq,
    log_key,
    reader_connection,
    redis,
    retry_through_outages,
    wake_key,
)
from chat.fanout.runlog import Hub, RunLog, event_frame

logger = logging.getLogger(__name__)

# A mirror pauses this long after handing a read's frames over, before its next read. Each
# XREAD names every stream the process watches; read again as soon as the last one was
# handled, a server process with 100 streams at 20 frames/s each issued several hundred a
# second, each carrying a few frames. With the pause each read carries more, the server
# processes spend a quarter less CPU on the mirror (and Redis a third less), and a frame waits
# at most 5 ms more: less than the queueing that CPU cost under load (`bench.topology`, 200
# streams: p50 9-15 ms before, 8.6-8.8 ms with the pause).
MIRROR_READ_PAUSE = 0.005
# A read that Redis has not answered this long after its block ran out is taken for an outage.
READ_TIMEOUT_SECONDS = READ_BLOCK_MS / 1000 + 5.0
_TERMINAL = frozenset(TERMINAL_RUN_EVENTS)


def gap_frame(run_id: int) -> str:
    """What a mirror holds for a frame it can no longer read."""
    data = {"id": run_id, "status": "in_progress", "reason": "frames_unavailable"}
    return event_frame("resync", run_id, None, data)


class StreamTail:
    """Mirrors the streams of runs executed elsewhere into this process's hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.watched: dict[int, RunLog] = {}
        self._keys: dict[int, str] = {}  # each watched run's stream key, made once
        self._wake_key = wake_key()
        # What the next XREAD names: every watched stream with the last id read from it, and
        # the wake-up stream. Kept up to date as entries arrive, not made again for each read.
        self._streams: dict[Any, Any] = {self._wake_key: "0-0"}
        self._task: asyncio.Task[None] | None = None
        self._reading = False
        self._connection: AbstractConnection | None = None

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
        except OUTAGE as exc:
            logger.debug("stream tail: wake failed: %s", exc)

    async def _run(self) -> None:
        # Nothing may await between the last check of `watched` and the task's end: `watch`
        # starts a new task only once this one is done (a run watched while the connection
        # closes is read on the next turn).
        while self.watched:
            try:
                while self.watched:
                    await self._read_and_ingest()
                    await asyncio.sleep(MIRROR_READ_PAUSE)
            finally:
                await self._disconnect()

    async def _disconnect(self) -> None:
        # Closed while nothing is watched: a connection is not left open on a loop that ends.
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.disconnect(nowait=True)

    async def _read_and_ingest(self) -> None:
        self._reading = True
        try:
            replies: Any = await retry_through_outages(self._read, what="stream tail")
        finally:
            self._reading = False
        for key, entries in replies or ():
            if key == self._wake_key:
                self._streams[key] = entries[-1][0]
            else:
                await self._ingest(int(key.rsplit(":", 2)[1]), entries)

    async def _read(self) -> Any:
        """XREAD of every watched stream, its reply as Redis sent it: [[key, [[id, [field,
        value, ...]], ...]], ...], or None when the block ran out."""
        if self._connection is None:  # made on the running loop, kept while runs are watched
            self._connection = reader_connection()
        # The command is made before the read awaits: later changes go to the next read.
        streams = self._streams
        command = ("XREAD", "COUNT", 1000, "BLOCK", READ_BLOCK_MS, "STREAMS", *streams)
        await self._connection.send_command(*command, *streams.values())
        # A read cut short (timed out, cancelled, Redis gone) closes the connection (redis-py
        # does, so no late reply is taken for the next read's); the next read reconnects.
        async with asyncio.timeout(READ_TIMEOUT_SECONDS):
            return await self._connection.read_response()

    async def _ingest(self, run_id: int, entries: list[list[Any]]) -> None:
        log = self.watched.get(run_id)
        if log is None:
            return
        ended = False
        for entry_id, pairs in entries:
            fields = dict(zip(pairs[::2], pairs[1::2], strict=True))
            seq = entry_seq(entry_id)
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
