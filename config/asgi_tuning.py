"""Django's ASGI handler and two ASGI wrappers for the hot paths (`config.asgi` puts them in
place).

`ASGIHandler`: Django's, except that the task listening for the client's disconnect ends
quietly instead of raising `RequestAborted`. Daphne reports a disconnect once every response
has been sent, so Django raised that exception for every request, and caught it in `handle`,
whose frame its traceback then held, with the request, its session, user and response: one
reference cycle per request, freed only by a full collection of the garbage collector, which
under load paused the event loop for 70 to 150 ms (`config.collector`). What `handle` does
when the client leaves is unchanged: the view still in progress is cancelled.

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
from django.core.handlers import asgi

from chat.consumers import SERVER_SEND

# A few: sync code is mostly ORM calls that hold the GIL, so more threads add switching,
# not speed; more than one, so that one slow query does not hold up every request.
REQUEST_LANES = 4


class ASGIHandler(asgi.ASGIHandler):
    async def listen_for_disconnect(self, receive: Any) -> None:
        message = await receive()
        if message["type"] == "http.disconnect":
            return

        async def again() -> Any:
            return message

        # Anything else is an error of the server's: Django's own check says so.
        await super().listen_for_disconnect(again)


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
