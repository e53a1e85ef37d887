"""The run engine: executes runs against their upstream outside any consumer.

`chat.runs.get_engine()` returns this process's engine. Views call `launch(run_id)` after the
run's row is committed, from the server's event loop, and `await cancel(run_id)` to stop one.
Each run is an asyncio task that outlives the request and every socket: closing all tabs does
not stop a reply, it completes and is persisted.

With REDIS_URL set (`chat.fanout.redis_hub`), runs are visible across processes: their frames
go to Redis streams, and a run started through one server process can be watched from any
other. With RUN_EXECUTION=worker, `launch` queues the run for a `manage.py run_worker`
process instead of executing it here; a worker holds a lease on each run it executes
(`chat.runs.leases.RunHost`), so that a run whose worker dies is settled, not lost.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import functools
import logging
import os
import socket
import uuid
from collections.abc import Coroutine
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from assistants_proxy.errors import AssistantsError
from chat.fanout import make_hub, redis
from chat.fanout.runlog import Hub, RunLog
from chat.models import Assistant
from chat.runs import handover, lease_store, store, titles, tool_outputs
from chat.runs.execution import RunExecution
from chat.runs.upstream import upstream_for, upstream_http

logger = logging.getLogger(__name__)

# After the upstream accepted a cancel, how long its stream may take to say so before the
# engine cuts it: "stop" must stop within a second.
CANCEL_GRACE_SECONDS = 0.8


def process_name() -> str:
    """A name for this process, unique across hosts and restarts (its lease owner name):
    host, pid and a random part (`leases` reads the first two to spot a dead local owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RunEngine:
    def __init__(self) -> None:
        self.hub: Hub = make_hub()
        self.name = process_name()
        self.executions: dict[int, RunExecution] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}
        # Runs handed on but not executing yet (queueing for a worker).
        self._launching: dict[int, asyncio.Task[object]] = {}
        self._background: set[asyncio.Task[None]] = set()
        # A `manage.py run_worker` process executes what it takes from the queue.
        self.is_worker = False

    def launch(self, run_id: int, *, context: store.RunContext | None = None) -> None:
        """Start a committed run in the background; returns at once.

        `context`, when the caller has just loaded it, saves a database round trip before
        the first token."""
        loop = asyncio.get_running_loop()  # raises outside the server's loop, on purpose
        if settings.RUN_EXECUTION == "worker" and not self.is_worker:
            work = self._enqueue(run_id, context)
            task: asyncio.Task[object] = loop.create_task(work, context=contextvars.Context())
            self._launching[run_id] = task
            task.add_done_callback(lambda _: self._launching.pop(run_id, None))
        else:
            self.execute_here(run_id, context=context, claimed=False)

    async def _enqueue(self, run_id: int, ctx: store.RunContext | None) -> None:
        thread_id = (
            ctx.thread_id
            if ctx is not None
            else await database_sync_to_async(lease_store.run_thread_id)(run_id)
        )
        # Sockets on the thread start following the run's stream before a worker has it.
        await redis.notify(thread_id, {"type": "run.started", "run_id": run_id})
        try:
            # With the context this process has just loaded: the worker need not load it again.
            await redis.redis().lpush(redis.queue_key(), handover.item(run_id, ctx))
        except redis.OUTAGE as exc:
            # Not lost: a worker's sweep finds runs that nobody took (leases.RunHost).
            logger.warning("run %s: not queued (%s); a worker's sweep will take it", run_id, exc)

    def execute_here(
        self,
        run_id: int,
        *,
        context: store.RunContext | None = None,
        claimed: bool = True,
        announced: bool = False,
    ) -> None:
        """Execute the run in this process, as a task of the running loop. A run not
        `claimed` yet (one a view just started) has its lease taken by its first write; a
        run `announced` (queued: the web process that queued it told the thread's sockets)
        is not announced again."""
        loop = asyncio.get_running_loop()
        # A fresh context: the task must not inherit the request's, whose thread-sensitive
        # executor (asgiref) shuts down when the response is sent, long before the run ends.
        work = self._execute(run_id, context, claimed, announced)
        task = loop.create_task(work, name=f"run-{run_id}", context=contextvars.Context())
        self.tasks[run_id] = task
        task.add_done_callback(lambda _: self._forget(run_id))

    async def _execute(
        self, run_id: int, ctx: store.RunContext | None, claimed: bool, announced: bool
    ) -> None:
        if ctx is None:
            ctx = await database_sync_to_async(store.run_context_load)(run_id)
        log = self.hub.open_log(run_id, ctx.thread_id)
        execution = self.executions[run_id] = RunExecution(ctx=ctx, hub=self.hub, log=log)
        if not claimed:
            # Queued, not awaited: nothing before the first token waits on it. Until it
            # lands (milliseconds), no sweep touches a run this young.
            lease = dt.timedelta(seconds=settings.RUN_LEASE_SECONDS)
            claim = functools.partial(
                lease_store.run_claim, run_id=run_id, owner=self.name, lease=lease
            )
            execution.writer.put(claim)
        if redis.enabled() and not announced:  # other processes' sockets start mirroring it
            await redis.notify(ctx.thread_id, {"type": "run.started", "run_id": run_id})
        await execution.execute()
        if ctx.first_exchange:
            self._in_background(titles.title_after_first_reply(ctx, self.hub))

    def _forget(self, run_id: int) -> None:
        self.tasks.pop(run_id, None)
        self.executions.pop(run_id, None)

    async def cancel(self, run_id: int) -> bool:
        """Ask the upstream to cancel the run. True when a live run was found."""
        task = self.tasks.get(run_id)
        if task is None:
            return await self._cancel_elsewhere(run_id) if redis.enabled() else False
        execution = self.executions.get(run_id)
        if execution is None:
            task.cancel()  # still loading: nothing upstream to tell
            return True
        if execution.finishing:
            return True  # its end is being saved: it ends now whatever the upstream does
        try:
            await asyncio.wait_for(execution.cancel_upstream(), CANCEL_GRACE_SECONDS)
        except (LookupError, AssistantsError, TimeoutError, RuntimeError) as exc:
            # RuntimeError: httpx's "client has been closed", when the run's stream ended
            # (and the pool closed with it) while the cancel was on its way.
            logger.info("run %s: cancelling locally (%s)", run_id, exc)
            self._cut(run_id)
        else:
            asyncio.get_running_loop().call_later(CANCEL_GRACE_SECONDS, self._cut, run_id)
        return True

    async def submit_tool_outputs(
        self, run_id: int, outputs: list[dict[str, str]]
    ) -> tuple[RunLog | None, list[str]]:
        """Continue a run paused for its client's function outputs (`client_tools`), recorded
        in its row whichever process executes it (`tool_outputs`): (its log when this process
        executes it, whose next frames are the continuation, else None; the call ids
        answered). Conflict when the run is not waiting, InvalidInput for wrong outputs."""
        answered = await tool_outputs.submit_stored(run_id, outputs)
        execution = self.executions.get(run_id)
        pending = execution.client_wait if execution is not None else None
        if execution is None or pending is None:
            return None, answered  # another process, or this one's read of the row, has them
        pending.submit(outputs)
        return execution.log, answered

    def delete_upstream_thread(self, assistant: Assistant, upstream_thread_id: str) -> None:
        """Delete a deleted thread's upstream copy, in the background (best effort: the
        thread is gone here whatever the upstream answers)."""

        async def delete() -> None:
            async with upstream_http() as http:
                upstream = upstream_for(assistant, http)
                try:
                    await upstream.delete_thread(thread_id=upstream_thread_id)
                except AssistantsError as exc:
                    logger.warning("upstream thread %s not deleted: %s", upstream_thread_id, exc)

        self._in_background(delete())

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Work nobody waits for (best effort), kept referenced until it ends."""
        task = asyncio.get_running_loop().create_task(work, context=contextvars.Context())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _cancel_elsewhere(self, run_id: int) -> bool:
        """The run is executed by another process, or waits in the queue for a worker."""
        try:
            await redis.redis().publish(redis.cancel_channel(), str(run_id))
        except redis.OUTAGE as exc:
            logger.warning("run %s: cancel not sent (%s)", run_id, exc)
            return False
        # Someone will end it: the process holding its lease, or the worker that takes it
        # from the queue (a run cancelled before it started ends there as cancelled).
        return await database_sync_to_async(lease_store.run_held_or_queued)(run_id)

    def _cut(self, run_id: int) -> None:
        execution, task = self.executions.get(run_id), self.tasks.get(run_id)
        if execution is not None and task is not None and not execution.finishing:
            execution.cancel_requested = True
            task.cancel()

    async def wait(self, run_id: int) -> None:
        """Wait for a run's task to end (for tests and graceful shutdown)."""
        launching = self._launching.get(run_id)
        if launching is not None:
            await asyncio.shield(launching)
        task = self.tasks.get(run_id)
        if task is not None:
            await asyncio.shield(task)

    async def background_done(self) -> None:
        """Wait for the work nobody waits for (titles, deletes) to end: for tests, whose
        event loop closes after each one and would cut a title's request mid-way."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
