"""Executing runs under a lease, so that a process that dies mid-run never loses one.

`RunHost` is what `manage.py run_worker` runs (RUN_EXECUTION=worker), and what a web process
runs when it executes runs itself beside other web processes (inline, with REDIS_URL):

- a run is executed only by the process that claimed it: one conditional UPDATE sets
  `lease_owner` and `lease_expires_at`, and only succeeds when nobody else holds a live lease;
- while it executes runs, the host renews their leases every third of RUN_LEASE_SECONDS, in
  one UPDATE for all of them (never per token);
- every host sweeps for runs whose lease ran out (their process died) and settles them from
  the upstream's final state (`recovery.recover_run`), appending the final frames to the run's
  stream so that the sockets watching it see the reply end with its full text; a run that had
  not started upstream yet is executed from the start instead;
- a worker takes queued runs from a Redis list, and the sweep also finds runs that were never
  taken (a web process that died between its INSERT and its push);
- cancels arrive on a Redis pub/sub channel; the host executing the run stops it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from chat.engine import distributed, recovery
from chat.engine.execution import RECONCILE_WAIT_SECONDS
from chat.engine.http import upstream_client
from chat.models import Message, Run

if TYPE_CHECKING:
    from chat.engine import RunEngine

logger = logging.getLogger(__name__)


class RunHost:
    def __init__(self, engine: RunEngine, *, consume_queue: bool, name: str | None = None) -> None:
        self.engine = engine
        self.consume_queue = consume_queue
        self.name = name or distributed.process_name()
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
        if isinstance(self.engine.hub, distributed.DistributedHub):
            await self.engine.hub.sink.drain(5.0)
        for task in self._loops:
            task.cancel()

    # -- claiming and executing ----------------------------------------------------------

    async def claim(self, run_id: int) -> bool:
        return await database_sync_to_async(_claim)(run_id, self.name, self.lease)

    async def claim_and_execute(self, run_id: int, context: Any = None) -> bool:
        if not await self.claim(run_id):
            return False
        self.engine.execute_here(run_id, context=context)
        return True

    async def _queue(self) -> None:
        backoff = 0.1
        while self.accepting:
            if distributed.being_cancelled():
                raise asyncio.CancelledError
            if len(self.engine.tasks) >= settings.WORKER_MAX_RUNS:
                await asyncio.sleep(0.1)
                continue
            try:
                queue = [distributed.queue_key()]
                item = await distributed.blocking_redis().brpop(queue, timeout=5)
                backoff = 0.1
            except (RedisError, OSError) as exc:
                if distributed.being_cancelled():
                    raise
                logger.warning("run queue: Redis unavailable (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, distributed.MAX_BACKOFF_SECONDS)
                continue
            if item is None:
                continue
            try:
                run_id = int(item[1])
            except ValueError:
                logger.error("run queue: ignoring %r", item[1])
                continue
            # Claimed and started beside the next BRPOP: a burst of runs must not queue up
            # behind each one's database round trips.
            task = asyncio.get_running_loop().create_task(self._take(run_id))
            self._taking.add(task)
            task.add_done_callback(self._taking.discard)

    async def _take(self, run_id: int) -> None:
        """Execute a run we have just been handed, unless another host already holds it."""
        try:
            if await self.claim(run_id):
                cancelled = await database_sync_to_async(_settle_if_cancelling)(run_id)
                if cancelled is not None:
                    await _announce_settled(run_id, cancelled)
                else:
                    self.engine.execute_here(run_id)
        except Exception:
            logger.exception("run %s: could not be started", run_id)

    # -- leases --------------------------------------------------------------------------

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(settings.RUN_LEASE_SECONDS / 3)
            held = list(self.engine.tasks) + list(self._settling)
            if not held:
                continue
            try:
                await database_sync_to_async(_renew)(held, self.name, self.lease)
            except Exception:
                logger.exception("run leases: renewal failed")

    async def _sweeps(self) -> None:
        while self.accepting:
            # Jitter, so that hosts started together do not all sweep at the same moment.
            await asyncio.sleep(settings.RUN_LEASE_SECONDS / 2 * random.uniform(0.5, 1.0))
            try:
                await self.sweep()
            except Exception:
                logger.exception("run sweep failed")

    async def sweep(self) -> list[int]:
        """Take over runs whose process died, and queued runs nobody took; returns their ids."""
        taken = []
        for run_id, started in await database_sync_to_async(_orphans)(
            self.lease, self.consume_queue
        ):
            if not self.accepting or not await self.claim(run_id):
                continue
            taken.append(run_id)
            if started:
                logger.warning("run %s: its process died mid-run; settling it", run_id)
                await self._settle(run_id)
            else:
                logger.warning("run %s: never started; starting it", run_id)
                await self._take_claimed(run_id)
        return taken

    async def _take_claimed(self, run_id: int) -> None:
        cancelled = await database_sync_to_async(_settle_if_cancelling)(run_id)
        if cancelled is not None:
            await _announce_settled(run_id, cancelled)
        else:
            self.engine.execute_here(run_id)

    async def _settle(self, run_id: int) -> None:
        self._settling.add(run_id)
        try:
            async with upstream_client() as http:
                run = await recovery.recover_run(http, run_id, wait=RECONCILE_WAIT_SECONDS)
            await _announce_settled(run.pk, await database_sync_to_async(_final_frames)(run.pk))
        finally:
            self._settling.discard(run_id)

    # -- cancels -------------------------------------------------------------------------

    async def _cancels(self) -> None:
        if not distributed.enabled():
            return
        backoff = 0.1
        while True:
            pubsub = distributed.blocking_redis().pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(distributed.cancel_channel())
                backoff = 0.1
                async for message in pubsub.listen():
                    run_id = _int(message.get("data"))
                    if run_id is not None and run_id in self.engine.tasks:
                        await self.engine.cancel(run_id)
            except (RedisError, OSError) as exc:
                if distributed.being_cancelled():
                    raise
                logger.warning("run cancels: Redis unavailable (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, distributed.MAX_BACKOFF_SECONDS)
            finally:
                await pubsub.aclose()


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _claim(run_id: int, owner: str, lease: dt.timedelta) -> bool:
    now = timezone.now()
    free = Q(lease_owner="") | Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)
    return bool(
        Run.objects.filter(free, pk=run_id, status__in=Run.ACTIVE_STATUSES).update(
            lease_owner=owner, lease_expires_at=now + lease
        )
    )


def _renew(run_ids: Iterable[int], owner: str, lease: dt.timedelta) -> None:
    Run.objects.filter(pk__in=list(run_ids), lease_owner=owner).update(
        lease_expires_at=timezone.now() + lease
    )


def _orphans(lease: dt.timedelta, include_unqueued: bool) -> list[tuple[int, bool]]:
    """Active runs whose lease ran out, and (for a queue consumer) runs never claimed."""
    now = timezone.now()
    expired = Q(lease_expires_at__lt=now)
    if include_unqueued:
        expired |= Q(lease_owner="", created_at__lt=now - lease)
    rows = Run.objects.filter(expired, status__in=Run.ACTIVE_STATUSES).values_list(
        "pk", "upstream_run_id"
    )
    return [(pk, bool(upstream_run_id)) for pk, upstream_run_id in rows]


def _settle_if_cancelling(run_id: int) -> list[str] | None:
    """A run cancelled before anyone executed it ends here, as cancelled; its final frames."""
    ended = Run.objects.filter(pk=run_id, status=Run.Status.CANCELLING, upstream_run_id="").update(
        status=Run.Status.CANCELLED, completed_at=timezone.now()
    )
    return _final_frames(run_id) if ended else None


def _final_frames(run_id: int) -> list[str]:
    """The frames that end a run settled without its stream: each reply's final text, then
    the run's end, as the browser protocol has them (seq is filled in when appended)."""
    run = Run.objects.get(pk=run_id)
    frames: list[tuple[str, dict[str, Any]]] = []
    for message in run.messages.filter(role=Message.Role.ASSISTANT).order_by("pk"):
        data = {
            "id": message.upstream_message_id or f"msg_local_{message.pk}",
            "object": "thread.message",
            "role": "assistant",
            "status": message.status,
            "content": [{"type": "text", "text": {"value": message.content, "annotations": []}}],
            "metadata": {"message_id": message.pk},
        }
        frames.append(("thread.message.completed", data))
    usage = {
        "prompt_tokens": run.prompt_tokens,
        "completion_tokens": run.completion_tokens,
        "total_tokens": run.total_tokens,
    }
    run_data = {
        "id": run.upstream_run_id or f"run_local_{run.pk}",
        "object": "thread.run",
        "status": run.status,
        "last_error": run.last_error,
        "usage": usage,
    }
    frames.append((f"thread.run.{run.status}", run_data))
    return [json.dumps({"event": e, "run_id": run_id, "data": d}) for e, d in frames]


async def _announce_settled(run_id: int, frames: list[str]) -> None:
    """Append a settled run's final frames to its stream, then tell the sockets watching it."""
    thread_id = await database_sync_to_async(
        lambda: Run.objects.values_list("thread_id", flat=True).get(pk=run_id)
    )()
    if not distributed.enabled():
        return
    appended = False
    try:
        last = await distributed.last_seq(run_id)
        if last is not None:
            pipe = distributed.redis().pipeline(transaction=False)
            for offset, frame in enumerate(frames, start=1):
                body = json.loads(frame)
                body["seq"] = last + offset
                pipe.xadd(
                    distributed.log_key(run_id),
                    {"f": json.dumps(body, ensure_ascii=False), "e": body["event"]},
                    id=f"0-{last + offset}",
                )
            pipe.expire(distributed.log_key(run_id), settings.RUN_LOG_TTL_SECONDS)
            await pipe.execute()
            appended = True
    except (RedisError, OSError) as exc:
        logger.warning("run %s: final frames not appended (%s)", run_id, exc)
    await distributed.notify(
        thread_id, {"type": "run.settled", "run_id": run_id, "stream": appended}
    )
