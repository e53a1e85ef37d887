"""The run engine's writer (`chat.runs.writer`) against the real database: checkpoints of
many runs in one batch, every run's writes in the order they were queued, a failed batch that
stops nothing after it, and a run waiting for its writes not held by the trip pacing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async

from chat.models import Assistant, Message
from chat.runs import store, writer
from chat.runs.writer import Writer
from chat.services import thread_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def replies(alice: Any) -> list[Message]:
    """Three threads, each with an assistant reply being streamed."""
    Assistant.objects.get_or_create(is_default=True, defaults={"name": "Simulator"})
    messages = []
    for n in range(3):
        thread, run = thread_create(owner=alice, content=f"Question {n}")
        messages.append(
            Message.objects.create(
                thread=thread, run=run, role="assistant", status="in_progress", content=""
            )
        )
    return messages


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The texts of each checkpoint batch the writer runs, in order; the batch still runs."""
    seen: list[list[str]] = []
    run_batch = store.message_checkpoints

    def spy(checkpoints: Any) -> None:
        seen.append([c.content for c in checkpoints])
        run_batch(checkpoints)

    monkeypatch.setattr(store, "message_checkpoints", spy)
    return seen


def contents() -> list[str]:
    replies = Message.objects.filter(role="assistant").order_by("pk")
    return list(replies.values_list("content", flat=True))


async def test_checkpoints_of_several_runs_go_in_one_batch(
    replies: list[Message], batches: list[list[str]]
) -> None:
    writers = [Writer(f"run-{n}") for n in range(3)]
    for n, (w, message) in enumerate(zip(writers, replies, strict=True)):
        pks = {f"msg_{n}": message.pk}
        w.put(store.Checkpoint(pks, f"msg_{n}", f"partial {n}"), coalesce_key=f"c{n}")
    for w in writers:
        await w.close()

    assert batches == [["partial 0", "partial 1", "partial 2"]]
    assert await database_sync_to_async(contents)() == ["partial 0", "partial 1", "partial 2"]
    streamed = Message.objects.filter(role="assistant")
    updated = await streamed.values_list("updated_at", flat=True).afirst()
    assert updated is not None and updated > replies[0].updated_at


async def test_a_newer_checkpoint_of_a_message_replaces_the_queued_one(
    replies: list[Message], batches: list[list[str]]
) -> None:
    w = Writer("run")
    pks = {"msg": replies[0].pk}
    for text in ("He", "Hell", "Hello"):
        w.put(store.Checkpoint(pks, "msg", text), coalesce_key="checkpoint:msg")
    await w.close()

    assert batches == [["Hello"]]
    assert (await database_sync_to_async(contents)())[0] == "Hello"


async def test_writes_keep_their_order_around_a_batch(
    replies: list[Message], batches: list[list[str]]
) -> None:
    done: list[str] = []
    w = Writer("run")
    pks: dict[str, int] = {}
    # The message's row becomes known only when the write queued before the checkpoint runs,
    # and the final text written after it must not be overwritten by it.
    w.put(lambda: pks.update(msg=replies[0].pk))
    w.put(store.Checkpoint(pks, "msg", "partial"), coalesce_key="checkpoint:msg")
    w.put(lambda: done.append(contents()[0]))
    w.put(lambda: Message.objects.filter(pk=replies[0].pk).update(content="final"))
    await w.close()

    assert batches == [["partial"]]
    assert done == ["partial"]
    assert (await database_sync_to_async(contents)())[0] == "final"


async def test_a_checkpoint_of_a_message_without_a_row_is_skipped(
    replies: list[Message], batches: list[list[str]]
) -> None:
    w = Writer("run")
    w.put(store.Checkpoint({}, "msg_unknown", "lost"), coalesce_key="a")
    w.put(store.Checkpoint({"msg": replies[1].pk}, "msg", "kept"), coalesce_key="b")
    await w.close()

    assert w.failures == 0
    assert await database_sync_to_async(contents)() == ["", "kept", ""]


async def test_a_failed_batch_is_counted_and_the_writes_after_it_still_run(
    replies: list[Message], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(checkpoints: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(store, "message_checkpoints", broken)
    w = Writer("run")
    pks = {"a": replies[0].pk, "b": replies[1].pk}
    w.put(store.Checkpoint(pks, "a", "x"), coalesce_key="a")
    w.put(store.Checkpoint(pks, "b", "y"), coalesce_key="b")
    w.put(lambda: Message.objects.filter(pk=replies[2].pk).update(content="final"))
    await w.close()

    assert w.failures == 2
    assert await database_sync_to_async(contents)() == ["", "", "final"]


async def test_a_run_waiting_for_its_writes_is_not_held_by_the_pacing(
    replies: list[Message], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Trips a minute apart: a checkpoint queued right after a trip waits for the next one,
    # but a run that closes its writer (its end) has them run at once.
    monkeypatch.setattr(writer, "TRIP_INTERVAL", 60.0)
    w = Writer("run")
    pks = {"msg": replies[0].pk}
    w.put(store.Checkpoint(pks, "msg", "first"), coalesce_key="checkpoint:msg")
    await asyncio.wait_for(w.close(), timeout=10)
    w.put(store.Checkpoint(pks, "msg", "second"), coalesce_key="checkpoint:msg")
    await asyncio.sleep(0.3)
    assert (await database_sync_to_async(contents)())[0] == "first"

    await asyncio.wait_for(w.close(), timeout=10)
    assert (await database_sync_to_async(contents)())[0] == "second"
