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

from assistants_proxy.events import TERMINAL_RUN_EVENTS
from chat.fanout.redis import (
    OUTAGE,
    READ_BLOCK_MS,
    blocking_redis,
    entry_seq,
    log_key,
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
        while self.watched:
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
            await asyncio.sleep(MIRROR_READ_PAUSE)

    async def _read(self) -> Any:
        # The command is made before the read awaits: later changes go to the next read.
        return await blocking_redis().xread(self._streams, count=1000, block=READ_BLOCK_MS)

    async def _ingest(self, run_id: int, entries: list[tuple[str, dict[str, str]]]) -> None:
        log = self.watched.get(run_id)
        if log is None:
            return
        ended = False
        for entry_id, fields in entries:
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
