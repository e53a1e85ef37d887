"""A run that pauses for its client's function outputs (`chat.runs.client_tools`) and
resumes in the same task and event log, against the simulator in every protocol."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async

from assistants_proxy.seed_tools import GET_WEATHER
from chat.errors import Conflict, InvalidInput
from chat.models import Assistant, Run
from chat.runs import get_engine
from chat.services import thread_create
from tests.chat.test_consumers import connect

pytestmark = pytest.mark.django_db(transaction=True)

OUTPUT = json.dumps({"temperature": 21})


@pytest.fixture(autouse=True, params=["assistants", "chat_completions", "responses"])
def users_assistant(
    request: pytest.FixtureRequest, settings: Any, simulator_url: str, alice: Any
) -> Assistant:
    """alice's own assistant (made over the API): its functions are hers to run."""
    settings.SIMULATOR_URL = simulator_url
    return Assistant.objects.create(
        name="Mine", owner=alice, model="gpt-4o", protocol=request.param, tools=[GET_WEATHER]
    )


async def _paused(user: Any, assistant: Assistant) -> tuple[Run, Any]:
    thread, run = await database_sync_to_async(thread_create)(
        owner=user, content="What is the weather in Paris?", assistant=assistant
    )
    socket = await connect(user, thread.pk)
    get_engine().launch(run.pk)
    await _frame(socket, "thread.run.requires_action")
    return run, socket


async def _frame(socket: Any, event: str) -> dict[str, Any]:
    while True:
        frame = json.loads(await socket.receive_from(timeout=10))
        if frame["event"] == event:
            return frame


async def _status(run: Run, wanted: str) -> Run:
    for _ in range(200):
        row = await Run.objects.aget(pk=run.pk)
        if row.status == wanted:
            return row
        await asyncio.sleep(0.02)
    raise AssertionError(f"run {run.pk} is {row.status}, not {wanted}")


def _call_ids(row: Run) -> list[str]:
    calls = row.required_action["submit_tool_outputs"]["tool_calls"]  # type: ignore[index]
    return [call["id"] for call in calls]


async def test_the_run_waits_for_the_client_then_goes_on(alice: Any, users_assistant: Any) -> None:
    run, socket = await _paused(alice, users_assistant)
    waiting = await _status(run, "requires_action")
    [call_id] = _call_ids(waiting)
    outputs = [{"tool_call_id": call_id, "output": OUTPUT}]
    log, answered = await get_engine().submit_tool_outputs(run.pk, outputs)
    assert log is not None and log.run_id == run.pk and answered == [call_id]
    done = await _frame(socket, "thread.run.completed")
    await get_engine().wait(run.pk)
    ended = await Run.objects.aget(pk=run.pk)
    assert ended.status == "completed" and done["run_id"] == run.pk
    step = await ended.steps.aget(type="tool_calls")
    assert step.step_details["tool_calls"][0]["function"]["output"] == OUTPUT
    await socket.disconnect()


async def test_outputs_for_other_calls_are_refused_and_it_keeps_waiting(
    alice: Any, users_assistant: Any
) -> None:
    run, socket = await _paused(alice, users_assistant)
    with pytest.raises(InvalidInput):
        await get_engine().submit_tool_outputs(
            run.pk, [{"tool_call_id": "call_other", "output": ""}]
        )
    await asyncio.sleep(0.1)
    assert (await _status(run, "requires_action")).is_active
    assert await get_engine().cancel(run.pk)
    await get_engine().wait(run.pk)
    assert (await Run.objects.aget(pk=run.pk)).status == "cancelled"
    with pytest.raises(Conflict):
        await get_engine().submit_tool_outputs(run.pk, [{"tool_call_id": "x", "output": ""}])
    await socket.disconnect()


async def test_a_run_nobody_answers_expires(
    alice: Any, users_assistant: Any, settings: Any
) -> None:
    settings.CLIENT_TOOL_WAIT_SECONDS = 0.5
    run, socket = await _paused(alice, users_assistant)
    await _frame(socket, "thread.run.expired")
    await get_engine().wait(run.pk)
    ended = await Run.objects.aget(pk=run.pk)
    assert ended.status == "expired" and ended.last_error["code"] == "expired"  # type: ignore[index]
    await socket.disconnect()
