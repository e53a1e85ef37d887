"""The thread list, a page at a time: newest activity first, with an opaque cursor for the
next page (keyset pagination on (updated_at, id), which the `thread_owner_recent` index
serves whatever the page: no OFFSET scanning past thousands of rows).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from chat.errors import InvalidInput
from chat.models import Thread
from chat.selectors import AnyUser, thread_list

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


@dataclass(frozen=True)
class ThreadPage:
    threads: list[Thread]
    next_cursor: str | None  # None: this is the last page


def thread_page(*, user: AnyUser, cursor: str | None, limit: int = DEFAULT_LIMIT) -> ThreadPage:
    """The user's threads after `cursor` (from the start when None), at most `limit`."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"'limit' must be from 1 to {MAX_LIMIT}.", code="invalid_limit")
    threads = thread_list(user=user)
    if cursor is not None:
        updated_at, pk = _decode(cursor)
        threads = threads.filter(Q(updated_at__lt=updated_at) | Q(updated_at=updated_at, pk__lt=pk))
    found = list(threads[: limit + 1])
    more = len(found) > limit
    found = found[:limit]
    return ThreadPage(found, _encode(found[-1]) if more else None)


def _encode(thread: Thread) -> str:
    raw = f"{thread.updated_at.isoformat()}|{thread.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, pk = raw.split("|")
        updated_at = datetime.fromisoformat(stamp)
        if updated_at.tzinfo is None:
            raise ValueError("no time zone")
        return updated_at, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("'cursor' is not one this server gave.", code="invalid_cursor") from None
