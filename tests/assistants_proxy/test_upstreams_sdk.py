"""The official openai SDK as a client of the simulator's Chat Completions and Responses
endpoints: they must work as a drop-in base_url."""

from __future__ import annotations

from typing import Any

import pytest
from openai import OpenAI
from simulator_client import no_server_errors  # noqa: F401
from upstreams_client import SEED_TEXT

from assistants_proxy.simulator.defaults import GET_WEATHER
from assistants_proxy.simulator.script import plan_reply

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture
def openai_client(simulator_url: str) -> OpenAI:
    return OpenAI(base_url=simulator_url, api_key="sk-anything", max_retries=0)


def _user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def test_chat_completions_stream_with_usage(openai_client: OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model="gpt-4o", messages=_user("Hello"), stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    assert text == SEED_TEXT
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 9


def test_chat_completions_stream_helper_accumulates_a_tool_call(openai_client: OpenAI) -> None:
    with openai_client.chat.completions.stream(
        model="gpt-4o",
        messages=_user("Weather in Paris?"),
        tools=[GET_WEATHER],  # type: ignore[list-item]
    ) as stream:
        completion = stream.get_final_completion()

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert call.function.arguments == '{"location":"Paris","unit":"c"}'  # type: ignore[union-attr]


def test_chat_completions_without_stream(openai_client: OpenAI) -> None:
    completion = openai_client.chat.completions.create(
        model="gpt-4o", messages=_user("/sim tokens=12 Rivers?")
    )

    assert completion.choices[0].message.content == plan_reply("Rivers?", tokens=12).text
    assert completion.usage is not None and completion.usage.completion_tokens == 12


def test_responses_create_stream_yields_typed_events(openai_client: OpenAI) -> None:
    events = list(openai_client.responses.create(model="gpt-4o", input="Hello", stream=True))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")

    assert text == SEED_TEXT
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].type == "response.completed"
    assert events[-1].response.usage is not None  # type: ignore[union-attr]
    assert events[-1].response.usage.output_tokens == 9  # type: ignore[union-attr]


def test_responses_stream_helper_gives_the_final_response(openai_client: OpenAI) -> None:
    with openai_client.responses.stream(model="gpt-4o", input="/sim tokens=30 Rivers?") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()

    assert "".join(deltas) == final.output_text == plan_reply("Rivers?", tokens=30).text
    assert final.status == "completed"


def test_responses_tool_call_round_trip_with_previous_response_id(openai_client: OpenAI) -> None:
    tool = {
        "type": "function",
        "name": "get_weather",
        "parameters": GET_WEATHER["function"]["parameters"],
    }
    first = openai_client.responses.create(model="gpt-4o", input="Weather in Oslo?", tools=[tool])  # type: ignore[list-item]
    [call] = [item for item in first.output if item.type == "function_call"]
    second = openai_client.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "snow"}],  # type: ignore[union-attr]
    )

    assert call.name == "get_weather"  # type: ignore[union-attr]
    assert "Oslo" in second.output_text and "snow" in second.output_text
