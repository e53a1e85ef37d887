"""The stream of `submit_tool_outputs` in a process that does not execute the run
(`chat.v1.continuation`): the run's log from the pause answered on, without a server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chat.errors import Conflict
from chat.fanout.runlog import Hub, RunLog
from chat.v1 import continuation, stream
from chat.v1.wire import RunNames

NAMES = RunNames(run="run_1", thread="thread_7", assistant="asst_2", client_answers=lambda d: True)
DELTA = {"id": "msg_a", "object": "thread.message.delta", "delta": {"content": []}}
DONE_RUN = {"id": "run_up", "object": "thread.run", "status": "completed"}


def _pause(*ids: str) -> dict[str, Any]:
    calls = [{"id": one, "type": "function", "function": {"name": "f"}} for one in ids]
    action = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": calls}}
    return {"id": "run_up", "object": "thread.run", "status": "requires_action",
            "required_action": action}  # fmt: skip


async def _two_pauses(hub: Hub, log: RunLog) -> None:
    await hub.publish(log, "thread.run.requires_action", _pause("call_a", "call_b"))
    await hub.publish(log, "thread.message.delta", DELTA)
    await hub.publish(log, "thread.run.requires_action", _pause("call_c"))
    await hub.publish(log, "thread.message.delta", DELTA)
    await hub.publish(log, "thread.run.completed", DONE_RUN)


async def _text(hub: Hub, ids: list[str]) -> str:
    follower = stream.RunFollower(hub, 7, 1)
    return "".join([chunk async for chunk in continuation.after_pause(follower, NAMES, ids)])


async def test_it_starts_after_the_pause_whose_calls_were_answered() -> None:
    hub = Hub()
    await _two_pauses(hub, hub.open_log(1, 7))
    first = await _text(hub, ["call_b", "call_a"])
    assert first.count("event: thread.message.delta\n") == 1
    # It goes on to the next pause, where the client has to answer again.
    last = first.split("event: ")[-2]
    assert last.startswith("thread.run.requires_action\n") and '"call_c"' in last
    assert "call_a" not in first and first.endswith("event: done\ndata: [DONE]\n\n")
    second = await _text(hub, ["call_c"])
    assert "requires_action" not in second and second.count("thread.message.delta\n") == 1
    assert "event: thread.run.completed\n" in second and second.endswith("data: [DONE]\n\n")


async def test_it_waits_for_a_pause_not_in_the_log_yet() -> None:
    hub = Hub()
    log = hub.open_log(1, 7)
    follower = stream.RunFollower(hub, 7, 1)
    chunks = continuation.after_pause(follower, NAMES, ["call_c"])
    reading = asyncio.ensure_future(anext(chunks))
    await asyncio.sleep(0.05)
    assert not reading.done()
    await _two_pauses(hub, log)
    text = await asyncio.wait_for(reading, 1) + "".join([chunk async for chunk in chunks])
    assert text.startswith("event: thread.message.delta\n") and text.endswith("[DONE]\n\n")


async def test_a_log_that_ended_without_the_pause_ends_the_stream() -> None:
    hub = Hub()
    log = hub.open_log(1, 7)
    await hub.publish(log, "thread.run.completed", DONE_RUN)
    log.end()
    assert await _text(hub, ["call_z"]) == "event: done\ndata: [DONE]\n\n"
    assert not hub._subscribers.get(7)


def test_without_redis_a_run_executed_elsewhere_cannot_be_streamed(settings: Any) -> None:
    settings.REDIS_URL = ""
    with pytest.raises(Conflict) as refused:
        continuation.ensure_followable(123456)
    assert refused.value.code == "stream_unavailable"
    settings.REDIS_URL = "redis://127.0.0.1:6379/7"
    continuation.ensure_followable(123456)  # mirrored through Redis: followable
