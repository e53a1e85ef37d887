"""Web processes that execute runs (RUN_EXECUTION=inline) also hold their leases and settle
what dead processes left (`chat.runs.leases.RunHost`).

The host starts with the process's first ASGI call, in the server's event loop (daphne has no
lifespan event): a health probe, a page or a socket. From then on the process renews the
leases of its runs, and sweeps for runs left active by a process that died, at once and then
every half lease. Several processes starting together is safe: each run is claimed by one
conditional UPDATE.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from django.conf import settings

from chat.runs import get_engine
from chat.runs.leases import RunHost

_hosts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RunHost] = weakref.WeakKeyDictionary()


def host_runs() -> RunHost | None:
    """This loop's host, started on first use; None where workers execute the runs."""
    if settings.RUN_EXECUTION != "inline":
        return None
    loop = asyncio.get_running_loop()
    host = _hosts.get(loop)
    if host is None:
        host = _hosts[loop] = RunHost(get_engine(), consume_queue=False)
        host.start()
    return host


class HostRuns:
    """ASGI middleware: the process's run host, started by its first request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._started = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if not self._started:
            self._started = True
            host_runs()
        return await self.app(scope, receive, send)
