"""The lease protocol: a run is executed by the one process that holds its lease, so that a
process that dies mid-run never loses one.

`RunHost` is what `manage.py run_worker` runs (RUN_EXECUTION=worker), and what every web
process runs beside when it executes runs itself (RUN_EXECUTION=inline; started with the
process's first request, `config.asgi_tuning.HostRuns`):

- a run is executed only by the process that claimed it: one conditional UPDATE sets
  `lease_owner` and `lease_expires_at`, and only succeeds when nobody else holds a live lease;
- while it executes runs, the host renews their leases every third of RUN_LEASE_SECONDS, in
  one UPDATE for all of them (never per token); the same trip finds the ones someone asked to
  stop, so a cancel whose message was lost still stops its run;
- every host sweeps, when it starts and then every half lease, for runs whose lease ran out
  or whose owner was a process of this host that is gone (it was killed), and settles them from
  the upstream's final state (`recovery.recover_run`), handing the final events to the fan-out
  so that the sockets watching see the reply end with its full text; a run that had not
  started upstream yet is executed from the start instead;
- a worker takes queued runs from a Redis list, and the sweep also finds runs that were never
  taken (a web process that died between its INSERT and its push);
- cancels arrive on a Redis pub/sub channel; the host executing the run stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from chat.fanout import redis
from chat.fanout.redis_hub import DistributedHub
from chat.runs import handover, lease_store, recovery, store
from chat.runs.engine import RunEngine
from chat.runs.execution import RECONCILE_WAIT_SECONDS

logger = logging.getLogger(__name__)

# Run starts take a thread and a database connection of their own. In the ORM's one thread
# (where Django's sync code runs by default), a start waited behind the trips of every other
# run's writer, a final save taking ~6 statements: under load that wait, not the start's
# own three statements, was most of the time to a reply's first word.
_START_LANE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="run-starts")


class RunHost:
    def __init__(self, engine: RunEngine, *, consume_queue: bool, name: str | None = None) -> None:
        self.engine = engine
        self.consume_queue = consume_queue
        self.name = name or engine.name
        self.accepting = True
        self._loops: list[asyncio.Task[None]] = []
        self._settling: set[int] = set()
        self._taking: set[asyncio.Task[None]] = set()

    @property
    def lease(self) -> dt.timedelta:
        return dt.timedelta(seconds=settings.RUN_LEASE_SECONDS)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        loops = [self._heartbeats(), self._sweeps(), self._cancels()]
        if self.consume_queue:
            loops.append(self._queue())
        self._loops = [loop.create_task(c, name=f"run-host-{c.__name__}") for c in loops]

    async def stop(self, *, grace: float | None = None) -> None:
        """Stop taking runs; wait for the ones executing here (up to `grace` seconds)."""
        self.accepting = False
        for task in self._loops:
            if task.get_name() in ("run-host-_queue", "run-host-_sweeps"):
                task.cancel()
        running = list(self.engine.tasks.values())
        if running:
            await asyncio.wait(running, timeout=grace)
        if isinstance(self.engine.hub, DistributedHub):
            await self.engine.hub.sink.drain(5.0)
        for task in self._loops:
            task.cancel()

    # -- claiming and executing ----------------------------------------------------------

    async def claim(self, run_id: int, dead_owners: Sequence[str] = ()) -> bool:
        return await database_sync_to_async(lease_store.run_claim)(
            run_id=run_id, owner=self.name, lease=self.lease, dead_owners=dead_owners
        )

    async def _queue(self) -> None:
        while self.accepting:
            room = settings.WORKER_MAX_RUNS - len(self.engine.tasks)
            if room <= 0:
                await asyncio.sleep(0.1)
                continue
            items = await redis.retry_through_outages(
                functools.partial(self._pop, room), what="run queue"
            )
            for item in items:
                run_id, handed = _queued(item)
                if run_id is None:
                    logger.error("run queue: ignoring %r", item[:200])
                    continue
                # Claimed and started beside the next BRPOP: a burst of runs must not queue
                # up behind each one's database round trips.
                task = asyncio.get_running_loop().create_task(self._take(run_id, handed))
                self._taking.add(task)
                task.add_done_callback(self._taking.discard)

    async def _pop(self, room: int) -> list[Any]:
        """The runs waiting, up to `room`: the first when one comes, and with it whatever
        queued behind it (a burst is one read, not a round trip per run)."""
        first = await redis.blocking_redis().brpop([redis.queue_key()], timeout=5)
        if first is None:
            return []
        more = None
        if room > 1:
            # The rest stay queued if Redis goes now: the first is not lost with them.
            with contextlib.suppress(*redis.OUTAGE):
                more = await redis.redis().rpop(redis.queue_key(), room - 1)
        return [first[1], *(more or [])]

    async def _take(self, run_id: int, handed: store.RunContext | None) -> None:
        """Execute a run we have just been handed, unless another host already holds it."""
        try:
            # Its web process told the thread's sockets when it queued it.
            await self._start(run_id, announced=True, handed=handed)
        except Exception:
            logger.exception("run %s: could not be started", run_id)

    async def _start(
        self,
        run_id: int,
        *,
        dead_owners: Sequence[str] = (),
        announced: bool = False,
        handed: store.RunContext | None = None,
    ) -> bool:
        """Claim and start a run, or settle a run cancelled before it started, in one trip
        to the database, on the start lane. False when another host holds it. A run
        `handed` over with its context (`handover`) is started from it."""
        start = functools.partial(self._claim_and_load, run_id, dead_owners, handed)
        taken = await database_sync_to_async(start, thread_sensitive=False, executor=_START_LANE)()
        if isinstance(taken, store.RunContext):
            self.engine.execute_here(run_id, context=taken, announced=announced)
        elif taken is not None:
            await self.engine.hub.publish_settled(run_id, taken.thread_id, taken.frames)
        return taken is not None

    def _claim_and_load(
        self, run_id: int, dead_owners: Sequence[str], handed: store.RunContext | None
    ) -> recovery.Settled | store.RunContext | None:
        claim = functools.partial(
            lease_store.run_claim,
            run_id=run_id,
            owner=self.name,
            lease=self.lease,
            dead_owners=dead_owners,
        )
        # One statement for a run handed over with its context: claimed unless someone
        # asked to stop it meanwhile (then the full path below settles it).
        if handed is not None and claim(unless_cancelling=True):
            return handed
        return recovery.unstarted_or_context(run_id) if claim() else None

    # -- leases --------------------------------------------------------------------------

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(settings.RUN_LEASE_SECONDS / 3)
            try:
                await self.heartbeat()
            except Exception:
                logger.exception("run leases: renewal failed")

    async def heartbeat(self) -> None:
        """Renew the leases of the runs held here; stop those someone asked to stop."""
        held = list(self.engine.tasks) + list(self._settling)
        if not held:
            return
        executions = self.engine.executions.items()
        streamed = {run_id: execution.budget.streamed for run_id, execution in executions}
        cancelling = await database_sync_to_async(lease_store.runs_renew)(
            run_ids=held, owner=self.name, lease=self.lease, streamed=streamed
        )
        for run_id in cancelling:
            execution = self.engine.executions.get(run_id)
            if execution is not None and not execution.cancel_requested:
                await self.engine.cancel(run_id)

    async def _sweeps(self) -> None:
        while self.accepting:
            try:
                await self.sweep()
            except Exception:
                logger.exception("run sweep failed")
            # Jitter, so that hosts started together do not all sweep at the same moment.
            await asyncio.sleep(settings.RUN_LEASE_SECONDS / 2 * random.uniform(0.5, 1.0))

    async def sweep(self) -> list[int]:
        """Take over runs whose process died, and runs nobody took; returns their ids."""
        dead = await database_sync_to_async(lease_store.dead_owners_here)()
        orphans = await database_sync_to_async(lease_store.runs_orphaned)(
            lease=self.lease, dead_owners=dead
        )
        taken = []
        for run_id, started in orphans:
            if not self.accepting:
                continue
            if not started:
                if await self._start(run_id, dead_owners=dead):
                    logger.warning("run %s: never started; started it", run_id)
                    taken.append(run_id)
                continue
            if await self.claim(run_id, dead):
                taken.append(run_id)
                logger.warning("run %s: its process died mid-run; settling it", run_id)
                await self._settle(run_id)
        return taken

    async def _settle(self, run_id: int) -> None:
        self._settling.add(run_id)
        try:
            settled = await recovery.recover_run(run_id, wait=RECONCILE_WAIT_SECONDS)
            await self.engine.hub.publish_settled(run_id, settled.thread_id, settled.frames)
        finally:
            self._settling.discard(run_id)

    # -- cancels -------------------------------------------------------------------------

    async def _cancels(self) -> None:
        if not redis.enabled():
            return  # the heartbeat finds cancelled runs in the database
        while True:
            await redis.retry_through_outages(self._listen_for_cancels, what="run cancels")
            await asyncio.sleep(redis.FIRST_BACKOFF_SECONDS)  # it ended cleanly: subscribe again

    async def _listen_for_cancels(self) -> None:
        pubsub = redis.blocking_redis().pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(redis.cancel_channel())
            async for message in pubsub.listen():
                run_id = _int(message.get("data"))
                if run_id is not None and run_id in self.engine.tasks:
                    await self.engine.cancel(run_id)
        finally:
            await pubsub.aclose()


def _queued(item: bytes) -> tuple[int | None, store.RunContext | None]:
    # Whatever an item holds, the queue's loop goes on: it is the only one taking runs.
    try:
        return handover.read(item)
    except Exception:
        logger.exception("run queue: unreadable item")
        return None, None


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
