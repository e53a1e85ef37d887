"""A serial writer per run, so the relay never waits on the database.

Writes are queued in stream order and run one at a time in the ORM's thread. A checkpoint of
streaming text replaces a queued, not yet started checkpoint of the same message, so a slow
database sees at most one pending checkpoint per message, never a backlog of them.

The runs of a process share one queue (per event loop): whatever is queued when the ORM's
thread is free goes there in one trip, in order. With 200 streams, each checkpointing once a
second, that is a few trips a second instead of one per write, each of which woke a thread
and the event loop and fought the relay for the GIL. A run's writes still run in the order
they were queued, one at a time, and one failed write does not stop the others.

Writes of one kind queued next to each other (a class with a `run_batch` classmethod, such as
`store.Checkpoint`) run as one batch. While writes keep coming, trips are at least
`TRIP_INTERVAL` apart, so that more of them share one: nothing waits on a checkpoint, and a
run that waits for its writes (`close`, at its end) cuts the pause short.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import weakref
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async

logger = logging.getLogger(__name__)

Write = Callable[[], Any]
# At most this many writes per trip, so that a burst of run starts or ends cannot keep the
# thread busy long enough to delay another run's checkpoint by much.
BATCH_LIMIT = 100
# While writes keep coming, a trip starts at most this long after the previous one started.
TRIP_INTERVAL = 0.05


class Writer:
    def __init__(self, name: str) -> None:
        self.name = name
        self._latest: dict[str, Write] = {}
        self._queue = _queue_for_loop()
        self.failures = 0

    def put(self, write: Write, *, coalesce_key: str | None = None) -> None:
        if coalesce_key is not None:
            queued = coalesce_key in self._latest
            self._latest[coalesce_key] = write
            if queued:
                return
        self._queue.add(self, coalesce_key, write)

    async def close(self) -> None:
        """Wait until every queued write has run."""
        done = asyncio.get_running_loop().create_future()
        self._queue.add(self, None, done)
        await asyncio.shield(done)

    def _take(self, key: str | None, write: Write) -> Write:
        # The latest write for the key, taken in the event loop's thread, before the trip.
        return self._latest.pop(key) if key is not None else write


class _SharedQueue:
    """Every writer's writes, in order, run in batches in the ORM's thread."""

    def __init__(self) -> None:
        self._items: list[tuple[Writer, str | None, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._waited_for = asyncio.Event()  # a marker is queued: someone awaits the writes
        self._last_trip = float("-inf")

    def add(self, writer: Writer, key: str | None, write: Any) -> None:
        self._items.append((writer, key, write))
        if _is_marker(write):
            self._waited_for.set()
        if self._task is None or self._task.done():
            # A fresh context: the drain outlives whichever request or run started it, and
            # must not be tied to a request's thread (asgiref's ThreadSensitiveContext).
            self._task = asyncio.get_running_loop().create_task(
                self._drain(), name="engine-writes", context=contextvars.Context()
            )

    async def _drain(self) -> None:
        # Ends when the queue is empty (the next `add` starts another): no task is left
        # waiting when a loop closes.
        loop = asyncio.get_running_loop()
        while self._items:
            wait = self._last_trip + TRIP_INTERVAL - loop.time()
            if wait > 0 and not self._waited_for.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._waited_for.wait(), wait)
            self._last_trip = loop.time()
            batch, self._items = self._items[:BATCH_LIMIT], self._items[BATCH_LIMIT:]
            if not any(_is_marker(item) for _, _, item in self._items):
                self._waited_for.clear()
            writes = [(w, w._take(key, item)) for w, key, item in batch if not _is_marker(item)]
            if writes:
                try:
                    failed = await _run_in_thread([write for _, write in writes])
                except Exception:  # the trip itself failed: no write of it is known to be done
                    logger.exception("run engine writes failed")
                    failed = list(range(len(writes)))
                for index in failed:
                    writes[index][0].failures += 1
            for _, _, item in batch:
                if _is_marker(item) and not item.done():
                    item.set_result(None)


def _is_marker(item: Any) -> bool:
    return isinstance(item, asyncio.Future)


@database_sync_to_async
def _run_in_thread(writes: list[Write]) -> list[int]:
    failed: list[int] = []
    index = 0
    while index < len(writes):
        write = writes[index]
        run_batch = getattr(type(write), "run_batch", None)
        end = index + 1
        if run_batch is not None:
            while end < len(writes) and type(writes[end]) is type(write):
                end += 1
        try:
            if run_batch is not None:
                run_batch(writes[index:end])
            else:
                write()
        except Exception:
            # One failed write must not stop the later ones (the final state above all).
            failed.extend(range(index, end))
            logger.exception("run engine write failed")
        index = end
    return failed


_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SharedQueue] = (
    weakref.WeakKeyDictionary()
)


def _queue_for_loop() -> _SharedQueue:
    loop = asyncio.get_running_loop()
    queue = _queues.get(loop)
    if queue is None:
        queue = _queues[loop] = _SharedQueue()
    return queue
