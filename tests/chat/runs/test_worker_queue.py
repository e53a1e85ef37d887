"""A worker's queue (`RunHost._queue`) on the real Redis: a burst of queued runs is taken in
one read and every run of it starts; what is not a run id is skipped, not fatal; a run
starts while the ORM's thread is busy.

Skips without REDIS_URL, and fails instead with REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import connection
from pytest_django import Settings

from chat import services
from chat.fanout import redis
from chat.models import Assistant, Run
from chat.runs.engine import RunEngine
from chat.runs.leases import RunHost
from tests.chat.test_health import required_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def worker_settings(transactional_db: None, settings: Settings, simulator_url: str) -> None:
    settings.SIMULATOR_URL = simulator_url
    settings.REDIS_URL = required_url("REDIS_URL")
    settings.REDIS_KEY_PREFIX = f"test-{uuid.uuid4().hex[:12]}"
    settings.RUN_EXECUTION = "worker"
    Assistant.objects.update_or_create(is_default=True, defaults={"name": "Simulator"})


async def queued_runs(user: Any, count: int) -> list[int]:
    runs = []
    for n in range(count):
        _, run = await database_sync_to_async(services.thread_create)(
            owner=user, content=f"/sim tokens=3 Hello {n}"
        )
        runs.append(run.pk)
    await redis.redis().lpush(redis.queue_key(), *runs[:2], "not-a-run", *runs[2:])
    return runs


async def test_a_burst_of_queued_runs_is_taken_in_one_read(alice: Any, settings: Settings) -> None:
    runs = await queued_runs(alice, 5)
    host = RunHost(RunEngine(), consume_queue=True)
    pops: list[int] = []
    pop = host._pop

    async def counted(room: int) -> list[Any]:
        pops.append(room)
        return await pop(room)

    host._pop = counted  # type: ignore[method-assign]
    queue = asyncio.get_running_loop().create_task(host._queue())
    try:
        for run_id in runs:
            await asyncio.wait_for(_completed(run_id), 20)
    finally:
        queue.cancel()
        await asyncio.gather(queue, *host.engine.tasks.values(), return_exceptions=True)
    assert await redis.redis().llen(redis.queue_key()) == 0
    assert len(pops) <= 2  # the burst in one read (and one more that was waiting, at most)


async def _completed(run_id: int) -> None:
    while (await Run.objects.aget(pk=run_id)).status != "completed":  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # another process's database row: nothing to wait on


async def test_a_run_starts_while_the_orm_thread_is_busy(alice: Any, settings: Settings) -> None:
    """A run's claim and context load go through the start lane: under load the ORM's one
    thread is busy with other runs' writes, and the first word waited behind them."""
    (run_id,) = await queued_runs(alice, 1)
    host = RunHost(RunEngine(), consume_queue=True)
    release = threading.Event()
    busy = asyncio.ensure_future(sync_to_async(release.wait, thread_sensitive=True)(10))
    queue = asyncio.get_running_loop().create_task(host._queue())
    try:
        claimed = await asyncio.wait_for(_claimed(run_id, host.name), 5)
        held = not busy.done()
    finally:
        release.set()
        queue.cancel()
        await asyncio.gather(busy, queue, *host.engine.tasks.values(), return_exceptions=True)
    assert claimed and held  # claimed while the ORM's thread was still held


async def _claimed(run_id: int, owner: str) -> bool:
    # Read on a thread of its own: the ORM's one thread is the one held.
    read = sync_to_async(_lease_owner, thread_sensitive=False)
    while await read(run_id) != owner:  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # another process's database row: nothing to wait on
    return True


def _lease_owner(run_id: int) -> str:
    try:
        return str(Run.objects.values_list("lease_owner", flat=True).get(pk=run_id))
    finally:
        connection.close()  # this thread's connection: the test database is dropped after
