"""The hub when runs cross processes (REDIS_URL set): the same interface as `runlog.Hub`.

Logs of runs executed here are also written to their Redis streams (`redis_sink`); logs of runs
executed elsewhere are mirrored from theirs (`redis_tail`). A socket following a thread joins
the thread's group on the channel layer, where the few control messages go (`run.started`,
`run.settled`); tokens never pass through the channel layer.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from channels.layers import get_channel_layer

from chat.fanout.redis import OUTAGE, notify, thread_group
from chat.fanout.redis_sink import StreamSink
from chat.fanout.redis_tail import StreamTail
from chat.fanout.runlog import Hub, RunLog, Subscriber

logger = logging.getLogger(__name__)


class DistributedHub(Hub):
    def __init__(self) -> None:
        super().__init__()
        self._mirrors: set[int] = set()
        # Per event loop, like the Redis clients (one loop per server process; tests run many).
        self._parts: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[StreamSink, StreamTail]
        ] = weakref.WeakKeyDictionary()
        self._last_loop: asyncio.AbstractEventLoop | None = None
        self._last_parts: tuple[StreamSink, StreamTail] | None = None

    def _loop_parts(self) -> tuple[StreamSink, StreamTail]:
        loop = asyncio.get_running_loop()
        # Once per frame: the loop of the last call first, before the weak dictionary.
        if loop is self._last_loop and self._last_parts is not None:
            return self._last_parts
        parts = self._parts.get(loop)
        if parts is None:
            parts = self._parts[loop] = (StreamSink(), StreamTail(self))
        self._last_loop, self._last_parts = loop, parts
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
            self.sink.end(log.run_id)

    def watch(self, run_id: int, thread_id: int) -> RunLog | None:
        """The run's log in this process: its own, or a mirror of its stream, kept current."""
        log = self.log(run_id)
        if log is not None:
            return log if log.thread_id == thread_id else None
        log = self.open_log(run_id, thread_id)
        self._mirrors.add(run_id)
        self._loop_parts()[1].watch(log)
        return log

    async def follow(self, thread_id: int, subscriber: Subscriber) -> None:
        # Group membership lives in Redis: renewing it at each heartbeat lets a restarted
        # Redis (which forgot every group) reach the socket again within one heartbeat.
        self.subscribe(thread_id, subscriber)
        try:
            await get_channel_layer().group_add(thread_group(thread_id), subscriber.channel_name)
        except OUTAGE as exc:
            # Runs started elsewhere then reach this socket when it reconnects or resumes.
            logger.warning("thread %s: not following other processes (%s)", thread_id, exc)

    async def unfollow(self, thread_id: int, subscriber: Subscriber) -> None:
        self.unsubscribe(thread_id, subscriber)
        try:
            await get_channel_layer().group_discard(
                thread_group(thread_id), subscriber.channel_name
            )
        except OUTAGE as exc:
            logger.info("thread %s: group not left (%s); it expires", thread_id, exc)

    async def announce(self, thread_id: int, message: dict[str, Any]) -> None:
        # Through the thread's group: the sockets of every process, this one's included.
        await notify(thread_id, message)

    async def publish_settled(
        self, run_id: int, thread_id: int, events: list[tuple[str, dict[str, Any]]]
    ) -> None:
        # The final events go after the stream's last frame, for every process's mirror; a
        # socket whose mirror cannot read them is told to take the state from the database.
        appended = await self.sink.append_settled(run_id, events)
        await notify(thread_id, {"type": "run.settled", "run_id": run_id, "stream": appended})
