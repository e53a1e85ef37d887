"""Client function tools: a run stops at requires_action, its stream ends there, and
`submit_tool_outputs` (streamed or not) continues the same run."""

from __future__ import annotations

import json
import time

import httpx
import openai

from assistants_proxy.seed_tools import GET_WEATHER
from tests.v1.support import EventRecorder

WEATHER = {"role": "user", "content": "What is the weather in Paris?"}
OUTPUT = json.dumps({"location": "Paris", "temperature": 21, "unit": "c"})


def _weather_assistant(client: openai.OpenAI) -> str:
    return client.beta.assistants.create(model="gpt-4o", tools=[GET_WEATHER]).id


def test_get_weather_round_trip_with_submit_tool_outputs_stream(alice_sdk: openai.OpenAI) -> None:
    thread = alice_sdk.beta.threads.create(messages=[WEATHER])
    first = EventRecorder()
    with alice_sdk.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=_weather_assistant(alice_sdk), event_handler=first
    ) as stream:
        stream.until_done()
        paused = stream.current_run
    assert first.events[-1] == "thread.run.requires_action"
    assert paused is not None and paused.required_action is not None
    calls = paused.required_action.submit_tool_outputs.tool_calls
    assert [call.function.name for call in calls] == ["get_weather"]
    assert json.loads(calls[0].function.arguments)["location"] == "Paris"
    polled = alice_sdk.beta.threads.runs.retrieve(paused.id, thread_id=thread.id)
    assert polled.status == "requires_action"

    second = EventRecorder()
    with alice_sdk.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id,
        run_id=paused.id,
        tool_outputs=[{"tool_call_id": calls[0].id, "output": OUTPUT}],
        event_handler=second,
    ) as stream:
        stream.until_done()
    assert second.events[-1] == "thread.run.completed"
    assert "thread.run.requires_action" not in second.events
    assert "21" in second.text
    done = alice_sdk.beta.threads.runs.retrieve(paused.id, thread_id=thread.id)
    assert done.status == "completed" and done.required_action is None
    steps = alice_sdk.beta.threads.runs.steps.list(run_id=done.id, thread_id=thread.id)
    assert {step.type for step in steps} == {"tool_calls", "message_creation"}


def test_submit_tool_outputs_without_stream_then_poll(alice_sdk: openai.OpenAI) -> None:
    thread = alice_sdk.beta.threads.create(messages=[WEATHER])
    run = alice_sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=_weather_assistant(alice_sdk), poll_interval_ms=100
    )
    assert run.status == "requires_action" and run.required_action is not None
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    run = alice_sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": OUTPUT}],
        poll_interval_ms=100,
    )
    assert run.status == "completed"


def test_wrong_tool_outputs_are_refused_and_the_run_keeps_waiting(
    alice_sdk: openai.OpenAI, raw_alice: httpx.Client
) -> None:
    thread = alice_sdk.beta.threads.create(messages=[WEATHER])
    run = alice_sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=_weather_assistant(alice_sdk), poll_interval_ms=100
    )
    path = f"/threads/{thread.id}/runs/{run.id}/submit_tool_outputs"
    wrong = raw_alice.post(path, json={"tool_outputs": [{"tool_call_id": "call_x", "output": ""}]})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "tool_outputs_mismatch"
    empty = raw_alice.post(path, json={"tool_outputs": []})
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "tool_outputs"
    time.sleep(0.2)
    again = alice_sdk.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert again.status == "requires_action"
    cancelled = alice_sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelled.status in ("cancelling", "cancelled")


def test_submitting_to_a_run_that_is_not_waiting_is_a_conflict(
    alice_sdk: openai.OpenAI, raw_alice: httpx.Client
) -> None:
    thread = alice_sdk.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])
    run = alice_sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=_weather_assistant(alice_sdk), poll_interval_ms=100
    )
    assert run.status == "completed"
    path = f"/threads/{thread.id}/runs/{run.id}/submit_tool_outputs"
    answer = raw_alice.post(path, json={"tool_outputs": [{"tool_call_id": "c", "output": "x"}]})
    assert answer.status_code == 409
    assert answer.json()["error"]["type"] == "invalid_request_error"


def test_the_servers_own_functions_are_never_asked_of_the_client(alice_sdk: openai.OpenAI) -> None:
    # asst_1, the operator's default assistant, offers the server's get_weather.
    events = list(
        alice_sdk.beta.threads.create_and_run(
            assistant_id="asst_1", thread={"messages": [WEATHER]}, stream=True
        )
    )
    names = [event.event for event in events]
    assert "thread.run.requires_action" not in names
    assert "thread.run.step.delta" in names  # the call itself is streamed, as the API does
    assert names[-1] == "thread.run.completed"
    steps = alice_sdk.beta.threads.runs.steps.list(
        run_id=events[-1].data.id, thread_id=events[0].data.id
    )
    [call] = [c for s in steps if s.type == "tool_calls" for c in s.step_details.tool_calls]  # type: ignore[union-attr]
    assert call.function.name == "get_weather" and "error" in (call.function.output or "")  # type: ignore[union-attr]
