"""The lease protocol (`chat.runs.leases.RunHost`) on the database alone: no Redis, no nginx.

Two hosts in one process stand for two worker processes: each has its own engine and name,
and they meet only in the database, as real workers do. Runs execute against the simulator
over real HTTP.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from chat import services
from chat.fanout.runlog import Hub, RunLog
from chat.models import Assistant, Message, Run
from chat.runs.engine import RunEngine
from chat.runs.leases import RunHost

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def simulator(transactional_db: None, settings: Any, simulator_url: str) -> Assistant:
    settings.SIMULATOR_URL = simulator_url
    settings.REDIS_URL = ""  # the protocol must hold on the database alone
    settings.RUN_LEASE_SECONDS = 3.0
    assistant, _ = Assistant.objects.update_or_create(
        is_default=True, defaults={"name": "Simulator", "model": "gpt-4o"}
    )
    return assistant


@pytest.fixture
async def hosts() -> AsyncIterator[tuple[RunHost, RunHost]]:
    """Two hosts that never call `start()`: each test drives claims, heartbeats and sweeps
    itself, so that nothing depends on timers."""
    pair = (
        RunHost(RunEngine(), consume_queue=True, name="host-a"),
        RunHost(RunEngine(), consume_queue=True, name="host-b"),
    )
    yield pair
    for host in pair:
        for task in list(host.engine.tasks.values()):
            task.cancel()
        await asyncio.gather(*host.engine.tasks.values(), return_exceptions=True)


class Watcher:
    """A socket on the thread, as the hub sees one."""

    channel_name = "test-watcher"

    def __init__(self) -> None:
        self.delivered: list[int] = []
        self.settled: list[dict[str, Any]] = []

    async def deliver(self, log: RunLog, seq: int) -> None:
        self.delivered.append(seq)

    async def run_settled(self, message: dict[str, Any]) -> None:
        self.settled.append(message)


async def new_run(user: Any, content: str = "Hello") -> Run:
    _, run = await database_sync_to_async(services.thread_create)(owner=user, content=content)
    return run


async def expire(run: Run, owner: str = "dead-host") -> None:
    past = timezone.now() - dt.timedelta(seconds=60)
    await Run.objects.filter(pk=run.pk).aupdate(lease_owner=owner, lease_expires_at=past)


async def wait_for_status(run: Run, *statuses: str, seconds: float = 10.0) -> Run:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        fresh = await Run.objects.aget(pk=run.pk)
        if fresh.status in statuses or asyncio.get_running_loop().time() > deadline:
            return fresh
        await asyncio.sleep(0.05)


async def test_only_one_host_claims_a_run(alice: Any, hosts: tuple[RunHost, RunHost]) -> None:
    a, b = hosts
    run = await new_run(alice)

    won = await asyncio.gather(a.claim(run.pk), b.claim(run.pk))

    assert sorted(won) == [False, True]
    owner = (await Run.objects.aget(pk=run.pk)).lease_owner
    assert owner == (a.name if won[0] else b.name)


async def test_a_lease_that_ran_out_can_be_claimed_again(
    alice: Any, hosts: tuple[RunHost, RunHost]
) -> None:
    a, b = hosts
    run = await new_run(alice)
    assert await a.claim(run.pk)
    assert not await b.claim(run.pk)

    await expire(run, owner=a.name)

    assert await b.claim(run.pk)
    assert (await Run.objects.aget(pk=run.pk)).lease_owner == b.name


async def test_a_heartbeat_renews_the_leases_of_the_runs_executing_here(
    alice: Any, hosts: tuple[RunHost, RunHost]
) -> None:
    a, _ = hosts
    run = await new_run(alice, "/sim rate=20 tokens=200 A slow reply")
    assert await a.claim(run.pk)
    a.engine.execute_here(run.pk)
    soon = timezone.now() + dt.timedelta(seconds=1)
    await Run.objects.filter(pk=run.pk).aupdate(lease_expires_at=soon)

    await a.heartbeat()

    renewed = (await Run.objects.aget(pk=run.pk)).lease_expires_at
    assert renewed is not None and renewed > soon + dt.timedelta(seconds=1)


async def test_a_sweep_settles_a_run_whose_host_died_from_the_upstream(
    alice: Any, hosts: tuple[RunHost, RunHost], simulator_url: str
) -> None:
    _, b = hosts
    run = await new_run(alice)
    started = await start_upstream_run(simulator_url)
    thread = await run.thread.__class__.objects.aget(pk=run.thread_id)
    thread.upstream_thread_id = started["thread_id"]
    await thread.asave()
    await Run.objects.filter(pk=run.pk).aupdate(status="in_progress", upstream_run_id=started["id"])
    await expire(run)
    watcher = Watcher()
    b.engine.hub.subscribe(run.thread_id, watcher)

    assert await b.sweep() == [run.pk]

    settled = await Run.objects.aget(pk=run.pk)
    reply = await Message.objects.aget(run=run, role="assistant")
    assert (settled.status, reply.content) == ("completed", "Hello! How can I assist you today?")
    # No log of the run in this process: its sockets are told to read the database.
    assert watcher.settled == [{"type": "run.settled", "run_id": run.pk, "stream": False}]


async def test_a_sweep_ends_a_dead_run_the_upstream_cannot_tell_as_interrupted(
    alice: Any, hosts: tuple[RunHost, RunHost]
) -> None:
    _, b = hosts
    run = await new_run(alice)
    await Run.objects.filter(pk=run.pk).aupdate(status="in_progress", upstream_run_id="run_gone")
    await Message.objects.acreate(
        thread_id=run.thread_id, run=run, role="assistant", content="Half a rep"
    )
    await expire(run)

    assert await b.sweep() == [run.pk]

    settled = await Run.objects.aget(pk=run.pk)
    reply = await Message.objects.aget(run=run, role="assistant")
    assert (settled.status, settled.last_error["code"]) == ("failed", "interrupted")
    assert (reply.content, reply.status) == ("Half a rep", "incomplete")


async def test_a_sweep_starts_a_run_nobody_ever_took(
    alice: Any, hosts: tuple[RunHost, RunHost], settings: Any
) -> None:
    a, _ = hosts
    run = await new_run(alice)
    long_ago = timezone.now() - dt.timedelta(seconds=60)
    await Run.objects.filter(pk=run.pk).aupdate(created_at=long_ago)

    assert await a.sweep() == [run.pk]
    await a.engine.wait(run.pk)

    done = await Run.objects.aget(pk=run.pk)
    assert (done.status, done.lease_owner) == ("completed", a.name)


async def test_a_sweep_leaves_a_run_under_a_live_lease_alone(
    alice: Any, hosts: tuple[RunHost, RunHost]
) -> None:
    a, b = hosts
    run = await new_run(alice)
    assert await a.claim(run.pk)

    assert await b.sweep() == []
    assert (await Run.objects.aget(pk=run.pk)).lease_owner == a.name


async def test_a_cancel_reaches_the_host_executing_the_run_through_the_database(
    alice: Any, hosts: tuple[RunHost, RunHost]
) -> None:
    # The web process that took the click only marks the run: its message to the executing
    # host is lost (no Redis here), and the host's heartbeat finds it.
    a, _ = hosts
    run = await new_run(alice, "/sim rate=20 tokens=400 A long reply")
    assert await a.claim(run.pk)
    a.engine.execute_here(run.pk)
    await wait_for_status(run, "in_progress")
    await database_sync_to_async(services.run_cancel_request)(run=run)

    await a.heartbeat()
    await asyncio.wait_for(a.engine.wait(run.pk), 5)

    assert (await Run.objects.aget(pk=run.pk)).status == "cancelled"


async def test_a_run_cancelled_before_any_host_took_it_ends_cancelled(
    alice: Any, hosts: tuple[RunHost, RunHost]
) -> None:
    a, _ = hosts
    run = await new_run(alice)
    await database_sync_to_async(services.run_cancel_request)(run=run)
    long_ago = timezone.now() - dt.timedelta(seconds=60)
    await Run.objects.filter(pk=run.pk).aupdate(created_at=long_ago)
    watcher = Watcher()
    a.engine.hub.subscribe(run.thread_id, watcher)

    assert await a.sweep() == [run.pk]

    assert (await Run.objects.aget(pk=run.pk)).status == "cancelled"
    assert a.engine.tasks == {}  # nothing was sent upstream
    assert [m["run_id"] for m in watcher.settled] == [run.pk]


async def test_a_settled_run_with_a_log_here_ends_its_log_with_the_final_events() -> None:
    hub, watcher = Hub(), Watcher()
    log = hub.open_log(7, 3)
    hub.subscribe(3, watcher)
    await hub.publish(log, "thread.message.delta", {"id": "m"})

    await hub.publish_settled(7, 3, [("thread.run.failed", {"status": "failed"})])

    assert (watcher.delivered, log.ended, watcher.settled) == ([1, 2], True, [])
    assert '"event":"thread.run.failed"' in log.frame(2)


async def start_upstream_run(simulator_url: str) -> dict[str, Any]:
    """A run started at the simulator by a process that then died."""
    async with httpx.AsyncClient(base_url=simulator_url) as http:
        response = await http.post(
            "/threads/runs",
            json={
                "assistant_id": "asst_simulator000000000000000",
                "thread": {"messages": [{"role": "user", "content": "Hello"}]},
            },
        )
    started: dict[str, Any] = response.json()
    await asyncio.sleep(0.3)  # the simulator finishes it meanwhile
    return started
