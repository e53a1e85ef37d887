"""Per-run event logs and the in-process hub that fans frames out to sockets.

Every event of a run is appended to its log, which numbers it (`seq`, from 1) and serialises
the browser frame once; the same string then goes to every socket. A socket that connects late
or reconnects reads the log after its last seq, then follows live frames: the log, not the
socket, is the source of truth, so no gap and no duplicate whatever the timing (see
`Subscriber` in `chat.consumers`).

Delivery inside one process is a direct call to each subscribed consumer: no per-frame pass
through a general-purpose channel layer, whose in-memory backend sweeps every channel for
expiry on each send.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any, Protocol

# How long the log of an ended run stays readable, for sockets resuming just after the end.
ENDED_LOG_TTL_SECONDS = 300.0


class Subscriber(Protocol):
    async def deliver(self, log: RunLog, seq: int) -> None: ...


class RunLog:
    def __init__(self, run_id: int, thread_id: int) -> None:
        self.run_id = run_id
        self.thread_id = thread_id
        self.frames: list[str] = []
        self.ended_at: float | None = None

    @property
    def last_seq(self) -> int:
        return len(self.frames)

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def append(self, event: str, data: dict[str, Any]) -> int:
        seq = len(self.frames) + 1
        frame = {"event": event, "run_id": self.run_id, "seq": seq, "data": data}
        self.frames.append(json.dumps(frame, ensure_ascii=False, separators=(",", ":")))
        return seq

    def append_frame(self, frame: str) -> int:
        """Append a frame serialised elsewhere (a log mirrored from Redis); returns its seq."""
        self.frames.append(frame)
        return len(self.frames)

    def frame(self, seq: int) -> str:
        return self.frames[seq - 1]

    def end(self) -> None:
        self.ended_at = time.monotonic()


class Hub:
    """Run logs and the sockets watching each thread, for this process."""

    def __init__(self) -> None:
        self.logs: dict[int, RunLog] = {}
        self._active: dict[int, RunLog] = {}  # thread id -> its running run's log
        self._subscribers: defaultdict[int, set[Subscriber]] = defaultdict(set)

    def open_log(self, run_id: int, thread_id: int) -> RunLog:
        self._forget_old_logs()
        log = self.logs[run_id] = RunLog(run_id, thread_id)
        self._active[thread_id] = log
        return log

    def close_log(self, log: RunLog) -> None:
        log.end()
        if self._active.get(log.thread_id) is log:
            del self._active[log.thread_id]

    def active_log(self, thread_id: int) -> RunLog | None:
        return self._active.get(thread_id)

    def log(self, run_id: int) -> RunLog | None:
        return self.logs.get(run_id)

    def subscribe(self, thread_id: int, subscriber: Subscriber) -> None:
        self._subscribers[thread_id].add(subscriber)

    def unsubscribe(self, thread_id: int, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(thread_id)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._subscribers[thread_id]

    async def publish(self, log: RunLog, event: str, data: dict[str, Any]) -> int:
        seq = log.append(event, data)
        await self.deliver(log, seq)
        return seq

    async def deliver(self, log: RunLog, seq: int) -> None:
        """Hand the log's frames up to `seq` to every socket watching its thread."""
        # Copy: a socket may unsubscribe while we await its neighbour's send.
        for subscriber in tuple(self._subscribers.get(log.thread_id, ())):
            await subscriber.deliver(log, seq)

    def has_subscribers(self, thread_id: int) -> bool:
        return bool(self._subscribers.get(thread_id))

    def _forget_old_logs(self) -> None:
        cutoff = time.monotonic() - ENDED_LOG_TTL_SECONDS
        for run_id in [r for r, log in self.logs.items() if (log.ended_at or cutoff) < cutoff]:
            del self.logs[run_id]
