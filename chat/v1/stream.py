"""A run's stream for an API client: its event log, from a given seq, as Assistants
server-sent events (`wire`), ending with `event: done`.

The client follows the run's log like a browser's socket does (`chat.consumers`): as a hub
subscriber of the thread, reading the log in seq order, so it misses nothing whatever the
timing. The run does not depend on the client: one that goes away stops only its stream,
and retrieves the run later.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from django.http import StreamingHttpResponse

from chat.fanout.runlog import Hub, RunLog
from chat.v1.wire import DONE, RunNames, translate

# A comment line this often keeps proxies from closing a stream while the model thinks.
KEEPALIVE_SECONDS = 15.0
# A follower whose stream was not read this long after it was made has no client.
ABANDONED = 3 * KEEPALIVE_SECONDS


class RunFollower:
    """A hub subscriber for one run of a thread (`runlog.Subscriber`).

    One future per wait, resolved by the hub's delivery: no task or timer per delta (a
    `wait_for` on an event made both, for every token of every stream). One timer per
    stream, every KEEPALIVE_SECONDS, wakes a silent stream for its keep-alive line, and
    unsubscribes a follower whose stream was never read (a client gone before its response
    started never runs the stream's `finally`, which closes it otherwise).
    """

    def __init__(self, hub: Hub, thread_id: int, run_id: int) -> None:
        self.hub, self.thread_id, self.run_id = hub, thread_id, run_id
        self.channel_name = f"v1-stream-{uuid.uuid4().hex}"
        self.log: RunLog | None = None
        self.settled = False
        self._waiter: asyncio.Future[bool] | None = None
        self._pending = False  # news that came while nobody waited
        self._heard = False  # news since the last tick
        self.started = False  # set by the stream when it is first read
        self._created = time.monotonic()
        # Local delivery only: a run executing in another process is mirrored by `watch`.
        hub.subscribe(thread_id, self)
        self._tick_handle = asyncio.get_running_loop().call_later(KEEPALIVE_SECONDS, self._tick)

    def find_log(self) -> None:
        """The log of a run already under way (here, or mirrored from another process)."""
        self.log = self.log or self.hub.watch(self.run_id, self.thread_id)

    async def deliver(self, log: RunLog, seq: int) -> None:
        if log.run_id == self.run_id:
            self.log = log
            self._wake(True)

    async def run_settled(self, message: dict[str, Any]) -> None:
        if message.get("run_id") == self.run_id:
            self.settled = True
            self._wake(True)

    def _wake(self, news: bool) -> None:
        self._heard = self._heard or news
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(news)
        elif news:
            self._pending = True

    def _tick(self) -> None:
        if not self.started and time.monotonic() - self._created > ABANDONED:
            self.close()
            return
        if not self._heard:
            self._wake(False)
        self._heard = False
        self._tick_handle = asyncio.get_running_loop().call_later(KEEPALIVE_SECONDS, self._tick)

    async def news(self) -> bool:
        """Wait for frames; False when none came for about a keep-alive's time."""
        if self._pending:
            self._pending = False
            return True
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            return await self._waiter
        finally:
            self._waiter = None

    def close(self) -> None:
        self._tick_handle.cancel()
        self.hub.unsubscribe(self.thread_id, self)


async def events(
    follower: RunFollower, names: RunNames, *, after_seq: int, prelude: str = ""
) -> AsyncIterator[str]:
    """The SSE text of the run's frames after `after_seq`, each wake-up's frames in one
    chunk (one write for however many tokens arrived meanwhile)."""
    follower.started = True
    try:
        if prelude:
            yield prelude
        next_seq = after_seq + 1
        while True:
            chunk, ended, next_seq = _read(follower.log, names, next_seq)
            if chunk:
                yield chunk
            if ended or follower.settled:
                yield DONE
                return
            if not await follower.news():
                yield ": keep-alive\n\n"
    finally:
        follower.close()


def _read(log: RunLog | None, names: RunNames, next_seq: int) -> tuple[str, bool, int]:
    if log is None:
        return "", False, next_seq
    parts, upto = [], log.last_seq
    while next_seq <= upto:
        text, final = translate(log.frame(next_seq), names)
        next_seq += 1
        parts.append(text)
        if final:
            return "".join(parts), True, next_seq
    return "".join(parts), log.ended and next_seq > log.last_seq, next_seq


def response(chunks: AsyncIterator[str]) -> StreamingHttpResponse:
    answer = StreamingHttpResponse(chunks, content_type="text/event-stream; charset=utf-8")
    answer["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return answer
