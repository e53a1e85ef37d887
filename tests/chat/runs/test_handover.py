"""A queued run handed to the worker with its context (`chat.runs.handover`): the context
survives the queue whole, a bad item is refused or loaded from the database instead, and the
worker starts the run from the context it was handed, unless the run was cancelled meanwhile.

The worker tests need Redis: they skip without REDIS_URL, and fail instead with
REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from channels.db import database_sync_to_async
from pytest_django import Settings

from chat import services
from chat.fanout import redis
from chat.models import Assistant, Message, Run
from chat.runs import handover
from chat.runs.engine import RunEngine
from chat.runs.leases import RunHost
from chat.runs.store import RunContext, run_context, run_context_load
from tests.chat.test_health import required_url

pytestmark = pytest.mark.django_db(transaction=True)

RESPONSE_FORMAT = {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}


def started(user: Any, content: str, **assistant: Any) -> RunContext:
    kept = Assistant.objects.create(name="Kept", protocol="chat", context_window=4096, **assistant)
    _, run = services.thread_create(owner=user, content=content, assistant=kept)
    return run_context(run, run.user_message)


def assistant_values(assistant: Assistant) -> dict[str, Any]:
    return {f.attname: getattr(assistant, f.attname) for f in Assistant._meta.concrete_fields}


def test_a_context_comes_out_of_the_queue_as_it_went_in(alice: Any) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    shape = {"temperature": 0.25, "tools": tools, "response_format": RESPONSE_FORMAT}
    ctx = started(alice, "Ünïcode ✓ \u2028 text", **shape)
    ctx.notes, ctx.prefill = ["a note"], "the start"
    run_id, back = handover.read(handover.item(ctx.run_id, ctx).encode())
    assert run_id == ctx.run_id and back is not None
    assert assistant_values(back.assistant) == assistant_values(ctx.assistant)
    assert back.assistant.created_at == ctx.assistant.created_at  # a datetime, not a string
    assert not back.assistant._state.adding  # as if read from the database
    back.assistant = ctx.assistant
    assert back == ctx


def test_a_context_too_large_to_queue_goes_as_the_id_alone(alice: Any) -> None:
    ctx = started(alice, "Hello")
    # A long conversation sent whole to a stateless upstream.
    ctx.history = [{"role": "user", "content": "x" * 1000}] * 70
    assert handover.item(ctx.run_id, ctx) == str(ctx.run_id)
    assert handover.read(str(ctx.run_id)) == (ctx.run_id, None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"not-a-run", (None, None)),
        (b"true", (None, None)),
        (b'{"run": "7"}', (None, None)),
        (b"\xff\xfe", (None, None)),
        (b"12", (12, None)),
        (b'{"v": 99, "run": 5, "context": {}}', (5, None)),  # another version's: loaded
        (b'{"v": 1, "run": 5, "context": {"junk": 1}}', (5, None)),
        (b'{"v": 1, "run": 5}', (5, None)),
    ],
)
def test_a_bad_item_names_no_run_or_no_usable_context(raw: bytes, expected: Any) -> None:
    assert handover.read(raw) == expected


def test_a_context_with_a_value_its_field_refuses_is_loaded_instead(alice: Any) -> None:
    ctx = started(alice, "Hello")
    item = json.loads(handover.item(ctx.run_id, ctx))
    item["context"]["assistant"]["temperature"] = "hot"  # as after a change of the field
    assert handover.read(json.dumps(item)) == (ctx.run_id, None)


def test_a_context_that_cannot_be_encoded_goes_as_the_id_alone(alice: Any) -> None:
    ctx = started(alice, "Hello")
    ctx.notes = [Decimal("1.5")]  # not JSON
    assert handover.item(ctx.run_id, ctx) == str(ctx.run_id)


def test_a_context_for_another_run_is_not_used(alice: Any) -> None:
    ctx = started(alice, "Hello")
    item = handover.item(ctx.run_id, ctx).replace(f'"run":{ctx.run_id},', '"run":999999,', 1)
    assert handover.read(item) == (999999, None)


# -- the worker ----------------------------------------------------------------------------


@pytest.fixture
def worker_mode(settings: Settings, simulator_url: str) -> None:
    settings.SIMULATOR_URL = simulator_url
    settings.REDIS_URL = required_url("REDIS_URL")
    settings.REDIS_KEY_PREFIX = f"test-{uuid.uuid4().hex[:12]}"
    settings.RUN_EXECUTION = "worker"
    Assistant.objects.update_or_create(is_default=True, defaults={"name": "Simulator"})


async def queue_with_context(user: Any, content: str) -> tuple[int, RunContext]:
    def start() -> RunContext:
        _, run = services.thread_create(owner=user, content=content)
        return run_context(run, run.user_message)

    ctx = await database_sync_to_async(start)()
    await redis.redis().lpush(redis.queue_key(), handover.item(ctx.run_id, ctx))
    return ctx.run_id, ctx


async def worked(run_id: int) -> Run:
    host = RunHost(RunEngine(), consume_queue=True)
    queue = asyncio.get_running_loop().create_task(host._queue())
    try:
        return await asyncio.wait_for(_ended(run_id), 20)
    finally:
        queue.cancel()
        await asyncio.gather(queue, *host.engine.tasks.values(), return_exceptions=True)


async def _ended(run_id: int) -> Run:
    while (run := await Run.objects.aget(pk=run_id)).status in Run.ACTIVE_STATUSES:  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # another task's database row: nothing to wait on
    return run


@pytest.mark.usefixtures("worker_mode")
async def test_the_worker_starts_a_run_from_the_context_it_was_handed(alice: Any) -> None:
    run_id, ctx = await queue_with_context(alice, "/sim tokens=3 Hello")
    # Changed in the database after it was queued: the handed context is what is sent.
    await Message.objects.filter(pk=ctx.user_message_id).aupdate(content="/sim fail Hello")
    run = await worked(run_id)
    assert run.status == "completed"


@pytest.mark.usefixtures("worker_mode")
async def test_a_run_cancelled_after_it_was_queued_ends_cancelled(alice: Any) -> None:
    run_id, _ = await queue_with_context(alice, "/sim tokens=3 Hello")
    await Run.objects.filter(pk=run_id).aupdate(status="cancelling")
    run = await worked(run_id)
    assert run.status == "cancelled"
    assert run.upstream_run_id == ""  # never sent upstream
    assert not await Message.objects.filter(run_id=run_id, role="assistant").aexists()


def test_a_run_answering_the_last_message_again_is_loaded_too(alice: Any) -> None:
    # The Assistants API's run on a thread with no new message answers its last one: a
    # worker's sweep (or an item too large to carry it) loads that run from the database.
    first = started(alice, "Hello")
    Run.objects.filter(pk=first.run_id).update(status="completed")
    again = services.run_start_on_messages(
        user_id=alice.pk, thread_id=first.thread_id, assistant=first.assistant
    )
    loaded = run_context_load(again.pk)
    assert loaded.user_message_id == first.user_message_id
    assert loaded.user_text == "Hello"
