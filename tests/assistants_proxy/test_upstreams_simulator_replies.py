"""Every upstream adapter against the simulator speaking its protocol: the same replies, tool
calls, usage and metadata, in the same Assistants v2 events, whatever the wire."""

from __future__ import annotations

import json
import re

import pytest
from simulator_client import no_server_errors  # noqa: F401
from upstreams_client import (
    SEED_TEXT,
    collect,
    first,
    last,
    names,
    request,
    run_of,
    seed_names,
    upstream_for,
)
from upstreams_params import parametrize_protocols, parametrize_stateless

from assistants_proxy.accumulator import message_text
from assistants_proxy.simulator.script import plan_reply
from assistants_proxy.usage import normalise_usage

pytestmark = pytest.mark.usefixtures("no_server_errors")

_OPENAI_ID = re.compile(r"(run|step|msg|call)_[A-Za-z0-9]{24}")


@parametrize_protocols
async def test_a_greeting_streams_the_seed_reply_in_the_seeds_events(
    protocol: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        events, run = await collect(upstream.start_run(request("Hello")))

    # A new Assistants thread is announced first (createThreadAndRun); the others have none.
    assert [n for n in names(events) if n != "thread.created"] == seed_names()
    assert run.texts() == [SEED_TEXT]
    assert run.run_status == "completed"


@parametrize_stateless
async def test_stateless_runs_have_openai_shaped_ids_and_the_callers_thread(
    protocol: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        events, run = await collect(upstream.start_run(request("Hello", thread_id="conv-42")))

    assert {e.data.get("thread_id") for e in events if "thread_id" in e.data} == {"conv-42"}
    assert _OPENAI_ID.fullmatch(first(events, "thread.run.created")["id"])
    assert _OPENAI_ID.fullmatch(first(events, "thread.run.step.created")["id"])
    assert _OPENAI_ID.fullmatch(first(events, "thread.message.created")["id"])
    assert run.run is not None and run_of(run)["model"] == "gpt-4o"


@parametrize_protocols
async def test_a_markdown_reply_has_exactly_the_asked_tokens(
    protocol: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        events, run = await collect(upstream.start_run(request("/sim tokens=60 Rivers?")))

    assert names(events).count("thread.message.delta") == 60
    assert run.texts() == [plan_reply("Rivers?", tokens=60).text]


@parametrize_protocols
async def test_usage_is_reported_on_the_step_and_the_run_and_normalises(
    protocol: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        events, run = await collect(upstream.start_run(request("Hello")))

    usage = normalise_usage(run.usage)
    assert usage is not None and not usage["estimated"]
    assert usage["completion_tokens"] == 9
    assert usage["total_tokens"] == usage["prompt_tokens"] + 9 and usage["prompt_tokens"] > 0
    step_usage = last(events, "thread.run.step.completed")["usage"]
    assert step_usage["completion_tokens"] == 9


@parametrize_protocols
async def test_a_tool_call_round_trip(protocol: str, simulator_url: str) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        events, run = await collect(upstream.start_run(request("What's the weather in Oslo?")))
        assert names(events)[-2:] == ["thread.run.requires_action", "done"]
        assert "thread.run.step.delta" in names(events)
        [call] = run_of(run)["required_action"]["submit_tool_outputs"]["tool_calls"]
        assert call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"])["location"] == "Oslo"
        assert _OPENAI_ID.fullmatch(call["id"])
        [step] = run.steps
        assert (
            step["step_details"]["tool_calls"][0]["function"]["arguments"]
            == (call["function"]["arguments"])
        )

        outputs = [{"tool_call_id": call["id"], "output": "12 degrees and raining"}]
        stream = upstream.submit_tool_outputs(
            thread_id=run_of(run)["thread_id"],
            run_id=run_of(run)["id"],
            tool_outputs=outputs,
        )
        more, continued = await collect(stream)

    assert names(more)[:3] == [
        "thread.run.step.completed",
        "thread.run.queued",
        "thread.run.in_progress",
    ]
    tool_step = more[0].data
    assert tool_step["id"] == step["id"]
    assert tool_step["step_details"]["tool_calls"][0]["function"]["output"] == (
        "12 degrees and raining"
    )
    assert names(more)[-2:] == ["thread.run.completed", "done"]
    [text] = continued.texts()
    assert "Oslo" in text and "12 degrees and raining" in text
    assert continued.run is not None and run_of(continued)["id"] == run_of(run)["id"]


@parametrize_stateless
async def test_the_run_usage_sums_both_requests_of_a_tool_run(
    protocol: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        _, run = await collect(upstream.start_run(request("Weather in Rome?")))
        [call] = run_of(run)["required_action"]["submit_tool_outputs"]["tool_calls"]
        outputs = [{"tool_call_id": call["id"], "output": "sunny"}]
        more, _ = await collect(
            upstream.submit_tool_outputs(
                thread_id=run_of(run)["thread_id"],
                run_id=run_of(run)["id"],
                tool_outputs=outputs,
            )
        )

    tool_usage = more[0].data["usage"]
    message_usage = last(more, "thread.run.step.completed")["usage"]
    run_usage = last(more, "thread.run.completed")["usage"]
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert run_usage[key] == tool_usage[key] + message_usage[key]


@parametrize_stateless
async def test_a_request_without_the_weather_tool_gets_text(
    protocol: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        _, run = await collect(upstream.start_run(request("/sim tokens=5 weather?", tools=[])))

    assert run.run_status == "completed" and len(run.texts()[0]) > 0


@parametrize_stateless
async def test_the_history_reaches_the_upstream(protocol: str, simulator_url: str) -> None:
    history = [
        {"role": "user", "content": "What's the weather in Lima?"},
        {"role": "assistant", "content": "It is warm."},
    ]
    async with upstream_for(protocol, simulator_url) as upstream:
        short, _ = await collect(upstream.start_run(request("Hello")))
        long, run = await collect(upstream.start_run(request("Hello", history=history)))

    assert run.texts() == [SEED_TEXT]  # the last user message is the one answered
    prompt = last(long, "thread.run.completed")["usage"]["prompt_tokens"]
    assert prompt > last(short, "thread.run.completed")["usage"]["prompt_tokens"]


async def test_responses_can_chain_to_the_previous_response(simulator_url: str) -> None:
    async with upstream_for("responses", simulator_url) as upstream:
        _, first_run = await collect(upstream.start_run(request("Weather in Quito?")))
        response_id = run_of(first_run)["metadata"]["response_id"]
        [call] = run_of(first_run)["required_action"]["submit_tool_outputs"]["tool_calls"]
        _, done = await collect(
            upstream.submit_tool_outputs(
                thread_id=run_of(first_run)["thread_id"],
                run_id=run_of(first_run)["id"],
                tool_outputs=[{"tool_call_id": call["id"], "output": "cool"}],
            )
        )
        chained = request("Hello", previous_response_id=run_of(done)["metadata"]["response_id"])
        _, next_run = await collect(upstream.start_run(chained))

    assert response_id.startswith("resp_")
    assert "Quito" in done.texts()[0]
    assert next_run.texts() == [SEED_TEXT]


async def test_responses_continue_a_chained_run_with_previous_response_id(
    simulator_url: str,
) -> None:
    async with upstream_for("responses", simulator_url) as upstream:
        _, greeting = await collect(upstream.start_run(request("Hello")))
        previous = run_of(greeting)["metadata"]["response_id"]
        _, run = await collect(
            upstream.start_run(request("Weather in Lyon?", previous_response_id=previous))
        )
        [call] = run_of(run)["required_action"]["submit_tool_outputs"]["tool_calls"]
        _, done = await collect(
            upstream.submit_tool_outputs(
                thread_id=run_of(run)["thread_id"],
                run_id=run_of(run)["id"],
                tool_outputs=[{"tool_call_id": call["id"], "output": "windy"}],
            )
        )

    # Only the outputs were sent: the simulator found the question through the chain.
    assert "Lyon" in done.texts()[0] and "windy" in done.texts()[0]


@parametrize_stateless
async def test_a_refusal_is_text_marked_in_the_message_metadata(
    protocol: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        events, run = await collect(upstream.start_run(request("/sim refuse Hello")))

    [message] = run.messages
    assert message_text(message) == "I'm sorry, I can't assist with that request."
    assert message["metadata"]["refusal"] is True
    assert run.run_status == "completed"


@parametrize_stateless
async def test_a_reasoning_summary_goes_into_the_message_metadata(
    protocol: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        _, run = await collect(upstream.start_run(request("/sim reasoning Hello")))

    [message] = run.messages
    assert message_text(message) == SEED_TEXT  # the answer only
    assert message["metadata"]["reasoning_summary"].startswith("The user wrote to me")
    assert "refusal" not in message["metadata"]
    usage = normalise_usage(run.usage)
    assert usage is not None
    assert usage["reasoning_tokens"] == 13  # the summary's tokens
