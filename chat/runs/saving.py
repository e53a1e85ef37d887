"""Saving a run's end until the database takes it.

The final write holds the reply's whole text: it is what the user saw, and it must not be
lost to a database that is locked (SQLite, another process writing) or restarting
(PostgreSQL). It is retried with backoff for as long as the database refuses it for a reason
that passes; the run's end is announced only after it landed, and once the wait has lasted
`SAVE_NOTICE_SECONDS`, the browser is told the reply is complete but not saved yet. A
failure that retrying cannot mend (a bug, bad data) is logged and given up at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from channels.db import database_sync_to_async
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

SAVE_NOTICE_SECONDS = 2.0
FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0
# Locked, unreachable, restarting: what passes. Integrity and data errors do not.
_PASSING = (OperationalError, InterfaceError)

T = TypeVar("T")


async def save_until_it_lands(write: Callable[[], object], *, what: str) -> bool:
    """Run `write` in the ORM's thread until it succeeds; False if it cannot (logged)."""
    backoff = FIRST_BACKOFF_SECONDS
    while True:
        try:
            await database_sync_to_async(write)()
            return True
        except _PASSING as exc:
            logger.warning("%s: not saved yet (%s); retrying in %.1f s", what, exc, backoff)
        except Exception:
            logger.exception("%s: not saved, and retrying would not help", what)
            return False
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


async def telling_if_late(work: Awaitable[T], *, say_late: Callable[[], Awaitable[None]]) -> T:
    """`await work`; if it takes longer than SAVE_NOTICE_SECONDS (a database that waits on a
    lock holds a statement for seconds before it fails), `say_late()` meanwhile, once."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=SAVE_NOTICE_SECONDS)
    if not done:
        await say_late()
    return await task
