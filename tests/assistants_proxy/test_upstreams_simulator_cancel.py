"""Every upstream adapter against the simulator: a cancel ends the run, streaming, stalled or
paused, whatever the wire."""

from __future__ import annotations

import asyncio
import time

import pytest
from simulator_client import no_server_errors  # noqa: F401
from upstreams_client import collect, first, last, names, request, run_of, upstream_for
from upstreams_params import parametrize_protocols, parametrize_stateless

from assistants_proxy.accumulator import message_text
from assistants_proxy.errors import RunNotFoundError
from assistants_proxy.events import StreamEvent
from assistants_proxy.simulator.script import plan_reply

pytestmark = pytest.mark.usefixtures("no_server_errors")


@parametrize_protocols
async def test_cancel_ends_the_stream_with_the_partial_text(
    protocol: str, simulator_url: str
) -> None:
    received: list[StreamEvent] = []
    async with upstream_for(protocol, simulator_url) as upstream:
        stream = upstream.start_run(request("/sim rate=50 tokens=200 Rivers?"))
        async with stream as events:
            async for event in events:
                received.append(event)
                if event.name == "thread.message.delta" and len(_deltas(received)) == 3:
                    run = first(received, "thread.run.created")
                    await upstream.cancel_run(thread_id=run["thread_id"], run_id=run["id"])

    ending = [n for n in names(received) if n != "thread.message.delta"][-5:]
    assert ending == [
        "thread.run.cancelling",
        "thread.message.incomplete",
        "thread.run.step.cancelled",
        "thread.run.cancelled",
        "done",
    ]
    message = last(received, "thread.message.incomplete")
    assert message["incomplete_details"] == {"reason": "run_cancelled"}
    assert 3 <= names(received).count("thread.message.delta") < 200
    assert (
        message_text(message)
        == plan_reply("Rivers?", tokens=200).text[: len(message_text(message))]
    )


def _deltas(events: list[StreamEvent]) -> list[StreamEvent]:
    return [event for event in events if event.name == "thread.message.delta"]


@parametrize_stateless
async def test_cancel_wakes_a_stream_waiting_on_a_silent_upstream(
    protocol: str, simulator_url: str
) -> None:
    received: list[StreamEvent] = []
    stalled = asyncio.Event()
    async with upstream_for(protocol, simulator_url) as upstream:

        async def read() -> None:
            async with upstream.start_run(request("/sim stall=10 Hello")) as events:
                async for event in events:
                    received.append(event)
                    if len(_deltas(received)) == 4:  # the stall comes after half the deltas
                        stalled.set()

        reader = asyncio.create_task(read())
        await asyncio.wait_for(stalled.wait(), 5)
        run = first(received, "thread.run.created")
        started = time.monotonic()
        await upstream.cancel_run(thread_id=run["thread_id"], run_id=run["id"])
        await asyncio.wait_for(reader, 2)

    assert time.monotonic() - started < 1
    assert names(received)[-2:] == ["thread.run.cancelled", "done"]


@parametrize_stateless
async def test_a_paused_run_is_forgotten_on_cancel(protocol: str, simulator_url: str) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        _, run = await collect(upstream.start_run(request("Weather in Bern?")))
        ids = {"thread_id": run_of(run)["thread_id"], "run_id": run_of(run)["id"]}
        await upstream.cancel_run(**ids)
        with pytest.raises(RunNotFoundError):
            upstream.submit_tool_outputs(**ids, tool_outputs=[])
