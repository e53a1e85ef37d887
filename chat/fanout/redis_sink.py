"""Appending runs' frames to their Redis streams (`chat.fanout.redis` says which keys).

The process executing a run appends each frame to `<prefix>:run:<id>:log` with the entry id
`0-<seq>`, so that the stream is addressed by the very seq a browser resumes from. Frames go in
batches, one script call at most every SINK_WRITE_PAUSE, in order. A stream is bounded
(RUN_LOG_MAX_EVENTS) and expires RUN_LOG_TTL_SECONDS after its run ends.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from typing import Any

from django.conf import settings
from redis.commands.core import AsyncScript

from chat.fanout.redis import (
    OUTAGE,
    being_cancelled,
    last_seq,
    log_key,
    redis,
    retry_through_outages,
)
from chat.fanout.runlog import RunLog, event_frame

logger = logging.getLogger(__name__)

# While a run streams its log outlives any plausible run; after the end, RUN_LOG_TTL_SECONDS.
ACTIVE_LOG_TTL_SECONDS = 24 * 3600
ACTIVE_TTL_EVERY = 64  # frames between two renewals of a streaming log's TTL
SINK_BATCH_LIMIT = 2000  # frames per append script call
# After a write, the sink waits this long before the next one, so that each carries more
# frames. Written as soon as the last one returned, a worker relaying 200 streams at 20 frames/s
# made a script call for every few frames; the mirrors of the other processes read them
# MIRROR_READ_PAUSE apart anyway (`redis_tail`).
SINK_WRITE_PAUSE = 0.005


class StreamSink:
    """Appends frames to their runs' streams, in order, in batches.

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

    def end(self, run_id: int) -> None:
        self._ended.append(run_id)
        self._kick()

    async def append_settled(self, run_id: int, events: list[tuple[str, dict[str, Any]]]) -> bool:
        """Append the final events of a run settled without its stream (its process died)
        after the stream's last frame, and end it. False when there is no stream to append
        to (Redis lost it, or it expired): its sockets then resync from the database."""
        try:
            last = await last_seq(run_id)
        except OUTAGE as exc:
            logger.warning("run %s: final frames not appended (%s)", run_id, exc)
            return False
        if last is None:
            return False
        for seq, (event, data) in enumerate(events, start=last + 1):
            self._pending.append((run_id, seq, event_frame(event, run_id, seq, data), event))
        self.end(run_id)
        return await self.drain(5.0)

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
            # While Redis is away the batch is retried as it is, and what comes meanwhile
            # waits behind it: order holds.
            write = functools.partial(self._write, batch, ended)
            await retry_through_outages(write, what="run log")
            await asyncio.sleep(SINK_WRITE_PAUSE)

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
