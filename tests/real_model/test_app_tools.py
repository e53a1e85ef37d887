"""A forced tool call through the app: the real model calls `get_weather`, the app runs it
against the (fake) weather service over HTTP, sends the output back, and the model answers.

The assistant names the function in `tool_choice`, so the model must call it in its first
answer (llama.cpp constrains the arguments to the tool's JSON schema); the continuation is
sent with `auto`, which this server answers with text.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.appserver import RunningApp
from tests.real_model.appclient import ChatUser, delta_text
from tests.real_model.fakeweather import FakeWeather, expected_output
from tests.real_model.suite import WEATHER, WEATHER_QUESTION

pytestmark = pytest.mark.real_model


async def test_a_forced_tool_call_runs_the_tool_and_the_model_answers_with_its_output(
    chat_app: RunningApp, weather_api: FakeWeather
) -> None:
    asked_before = len(weather_api.requests)
    async with ChatUser.logged_in(chat_app.url, "alice") as alice:
        thread_id, run_id = await alice.start_thread(WEATHER_QUESTION, WEATHER)
        frames = await alice.follow(thread_id, run_id)
        run, stored = await alice.stored_run(thread_id, run_id)
    asked = weather_api.requests[asked_before:]

    assert frames[-1].event == "thread.run.completed", frames[-1].frame
    assert run["status"] == "completed"
    tool_step, message_step = run["steps"]
    assert (tool_step["type"], tool_step["status"]) == ("tool_calls", "completed")
    [call] = tool_step["step_details"]["tool_calls"]
    assert call["type"] == "function" and call["function"]["name"] == "get_weather"
    arguments = json.loads(call["function"]["arguments"])
    place = arguments["location"].split(",")[0].strip()
    # The tool asked the weather service about the place the model named, and its answer
    # is the output stored with the call.
    assert [path for path, _ in asked] == ["/v1/search", "/v1/forecast"]
    assert asked[0][1]["name"] == [place]
    expected = expected_output(place, arguments.get("unit", "c"))
    assert json.loads(call["function"]["output"]) == expected
    # Then the model went on to a text answer, streamed and stored.
    assert message_step["type"] == "message_creation" and message_step["status"] == "completed"
    assert stored.strip() and delta_text(frames) == stored
    events = [f.event for f in frames]
    assert events.index("thread.run.step.completed") < events.index("thread.message.delta")
