"""The run engine: executes runs against their upstream outside any consumer.

`get_engine()` returns this process's engine. Views call `launch(run_id)` after the run's row
is committed, from the server's event loop, and `await cancel(run_id)` to stop one. Each run
is an asyncio task that outlives the request and every socket: closing all tabs does not stop
a reply, it completes and is persisted.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging

from channels.db import database_sync_to_async

from assistants_proxy.errors import AssistantsError
from chat.engine import store
from chat.engine.execution import RunExecution
from chat.engine.runlog import Hub

logger = logging.getLogger(__name__)

# After the upstream accepted a cancel, how long its stream may take to say so before the
# engine cuts it: "stop" must stop within a second.
CANCEL_GRACE_SECONDS = 0.8


class RunEngine:
    def __init__(self) -> None:
        self.hub = Hub()
        self.executions: dict[int, RunExecution] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}

    def launch(self, run_id: int, *, context: store.RunContext | None = None) -> None:
        """Start executing a committed run in the background; returns at once.

        `context`, when the caller has just loaded it, saves a database round trip before
        the first token."""
        loop = asyncio.get_running_loop()  # raises outside the server's loop, on purpose
        # A fresh context: the task must not inherit the request's, whose thread-sensitive
        # executor (asgiref) shuts down when the response is sent, long before the run ends.
        task = loop.create_task(
            self._execute(run_id, context), name=f"run-{run_id}", context=contextvars.Context()
        )
        self.tasks[run_id] = task
        task.add_done_callback(lambda _: self._forget(run_id))

    async def _execute(self, run_id: int, ctx: store.RunContext | None) -> None:
        if ctx is None:
            ctx = await database_sync_to_async(store.run_context_load)(run_id)
        log = self.hub.open_log(run_id, ctx.thread_id)
        execution = self.executions[run_id] = RunExecution(ctx=ctx, hub=self.hub, log=log)
        await execution.execute()

    def _forget(self, run_id: int) -> None:
        self.tasks.pop(run_id, None)
        self.executions.pop(run_id, None)

    async def cancel(self, run_id: int) -> bool:
        """Ask the upstream to cancel the run. True when a live run was found."""
        task = self.tasks.get(run_id)
        if task is None:
            return False
        execution = self.executions.get(run_id)
        if execution is None:
            task.cancel()  # still loading: nothing upstream to tell
            return True
        try:
            await asyncio.wait_for(execution.cancel_upstream(), CANCEL_GRACE_SECONDS)
        except (LookupError, AssistantsError, TimeoutError) as exc:
            logger.info("run %s: cancelling locally (%s)", run_id, exc)
            self._cut(run_id)
        else:
            asyncio.get_running_loop().call_later(CANCEL_GRACE_SECONDS, self._cut, run_id)
        return True

    def _cut(self, run_id: int) -> None:
        execution, task = self.executions.get(run_id), self.tasks.get(run_id)
        if execution is not None and task is not None and not execution.finishing:
            execution.cancel_requested = True
            task.cancel()

    async def wait(self, run_id: int) -> None:
        """Wait for a run's task to end (for tests and graceful shutdown)."""
        task = self.tasks.get(run_id)
        if task is not None:
            await asyncio.shield(task)


_engine = RunEngine()


def get_engine() -> RunEngine:
    return _engine
