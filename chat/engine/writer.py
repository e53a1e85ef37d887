"""A serial writer: one per run, so the relay never waits on the database.

Writes are queued in stream order and run one at a time in the ORM's thread. A checkpoint of
streaming text replaces a queued, not yet started checkpoint of the same message, so a slow
database sees at most one pending checkpoint per message, never a backlog of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async

logger = logging.getLogger(__name__)

Write = Callable[[], Any]


class Writer:
    def __init__(self, name: str) -> None:
        self._queue: asyncio.Queue[tuple[str | None, Write] | None] = asyncio.Queue()
        self._latest: dict[str, Write] = {}
        self._task = asyncio.get_running_loop().create_task(self._drain(), name=name)
        self.failures = 0

    def put(self, write: Write, *, coalesce_key: str | None = None) -> None:
        if coalesce_key is not None:
            queued = coalesce_key in self._latest
            self._latest[coalesce_key] = write
            if queued:
                return
        self._queue.put_nowait((coalesce_key, write))

    async def close(self) -> None:
        """Wait until every queued write has run."""
        self._queue.put_nowait(None)
        await asyncio.shield(self._task)

    async def _drain(self) -> None:
        while (item := await self._queue.get()) is not None:
            key, write = item
            if key is not None:
                write = self._latest.pop(key)
            try:
                await database_sync_to_async(write)()
            except Exception:
                # One failed write must not stop the later ones (the final state above all).
                self.failures += 1
                logger.exception("run engine write failed")
