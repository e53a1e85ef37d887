"""Two ASGI wrappers for the hot paths (`config.asgi` puts them in place).

`RequestLanes`: under ASGI, Django runs each request's sync code (the ORM, sync views and
hooks) in a thread of its own, created for the request and dropped after it, and Django's
database connections belong to a thread: every request started a thread and opened, set up
and dropped a database connection (on SQLite, a file open, the WAL pragmas and some thirty
SQL functions registered). Here each request's sync code runs on one of a few long-lived
threads instead (`asgiref.sync.ThreadSensitiveContext` with an executor), the least busy
one, so threads and connections are reused (CONN_MAX_AGE applies again). Work of one request
still runs on one thread, as Django expects; requests sharing a lane take turns on it.

`ServerSendInScope`: hands the WebSocket consumer the server's own `send` in its scope
(`chat.consumers.SERVER_SEND`). Channels' session middleware wraps `send` for the handshake's
sake (the session is saved on accept); the consumer sends its frames, the hot path, through
the unwrapped one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext

from chat.consumers import SERVER_SEND

# A few: sync code is mostly ORM calls that hold the GIL, so more threads add switching,
# not speed; more than one, so that one slow query does not hold up every request.
REQUEST_LANES = 4


class RequestLanes:
    def __init__(self, app: Any, lanes: int = REQUEST_LANES) -> None:
        self.app = app
        self._executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"request-lane-{i}")
            for i in range(lanes)
        ]
        self._busy = [0] * lanes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        busy = self._busy
        lane = busy.index(min(busy))
        busy[lane] += 1
        try:
            # Django's own ThreadSensitiveContext, inside, then uses this one.
            async with ThreadSensitiveContext(executor=self._executors[lane]):
                await self.app(scope, receive, send)
        finally:
            busy[lane] -= 1


class ServerSendInScope:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        return await self.app({**scope, SERVER_SEND: send}, receive, send)
