"""A run's stream for an API client: its event log, from a given seq, as Assistants
server-sent events (`wire`), ending with `event: done`.

The client follows the run's log like a browser's socket does (`chat.consumers`): as a hub
subscriber of the thread, reading the log in seq order, so it misses nothing whatever the
timing. The run does not depend on the client: one that goes away stops only its stream,
and retrieves the run later.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

from django.http import StreamingHttpResponse

from chat.fanout.runlog import Hub, RunLog
from chat.v1.wire import DONE, RunNames, translate

# A comment line this often keeps proxies from closing a stream while the model thinks.
KEEPALIVE_SECONDS = 15.0


class RunFollower:
    """A hub subscriber for one run of a thread (`runlog.Subscriber`)."""

    def __init__(self, hub: Hub, thread_id: int, run_id: int) -> None:
        self.hub, self.thread_id, self.run_id = hub, thread_id, run_id
        self.channel_name = f"v1-stream-{uuid.uuid4().hex}"
        self.log: RunLog | None = None
        self.settled = False
        self._news = asyncio.Event()
        # Local delivery only: a run executing in another process is mirrored by `watch`.
        hub.subscribe(thread_id, self)

    def find_log(self) -> None:
        """The log of a run already under way (here, or mirrored from another process)."""
        self.log = self.log or self.hub.watch(self.run_id, self.thread_id)

    async def deliver(self, log: RunLog, seq: int) -> None:
        if log.run_id == self.run_id:
            self.log = log
            self._news.set()

    async def run_settled(self, message: dict[str, Any]) -> None:
        if message.get("run_id") == self.run_id:
            self.settled = True
            self._news.set()

    async def news(self) -> bool:
        """Wait for frames; False when none came for a keep-alive's time."""
        try:
            await asyncio.wait_for(self._news.wait(), KEEPALIVE_SECONDS)
        except TimeoutError:
            return False
        self._news.clear()
        return True

    def close(self) -> None:
        self.hub.unsubscribe(self.thread_id, self)


async def events(
    follower: RunFollower, names: RunNames, *, after_seq: int, prelude: str = ""
) -> AsyncIterator[str]:
    """The SSE text of the run's frames after `after_seq`, each wake-up's frames in one
    chunk (one write for however many tokens arrived meanwhile)."""
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
