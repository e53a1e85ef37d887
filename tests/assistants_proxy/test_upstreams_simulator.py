"""Every upstream adapter against the simulator speaking its protocol: the same behaviour,
in the same Assistants v2 events, whatever the wire."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from urllib.parse import urlsplit

import psutil
import pytest
from simulator_client import no_server_errors  # noqa: F401
from upstreams_client import (
    ALL_PROTOCOLS,
    SEED_TEXT,
    STATELESS,
    collect,
    first,
    last,
    names,
    request,
    run_of,
    seed_names,
    upstream_for,
)

from assistants_proxy.accumulator import message_text
from assistants_proxy.errors import HTTPStatusError, RunNotFoundError
from assistants_proxy.events import TERMINAL_RUN_EVENTS, StreamEvent
from assistants_proxy.simulator.script import plan_reply
from assistants_proxy.usage import normalise_usage

pytestmark = pytest.mark.usefixtures("no_server_errors")
parametrize_protocols = pytest.mark.parametrize("protocol", ALL_PROTOCOLS)
parametrize_stateless = pytest.mark.parametrize("protocol", STATELESS)

_OPENAI_ID = re.compile(r"(run|step|msg|call)_[A-Za-z0-9]{24}")


def unique(text: str) -> str:
    """`/sim status=... times=K` counts attempts per message text: keep each test's own."""
    return f"{text} {uuid.uuid4().hex[:8]}"


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


@parametrize_stateless
@pytest.mark.parametrize("fault", ["error-event=4", "fail=4"])
async def test_an_upstream_error_mid_stream_fails_the_run(
    protocol: str, fault: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        events, run = await collect(upstream.start_run(request(f"/sim {fault} Hello")))

    assert names(events)[-5:] == [
        "thread.message.delta",
        "thread.message.incomplete",
        "thread.run.step.failed",
        "thread.run.failed",
        "done",
    ]
    assert run.run is not None and run_of(run)["last_error"]["code"] == "server_error"
    assert (
        "simulated" in run_of(run)["last_error"]["message"]
        or "wrong" in run_of(run)["last_error"]["message"]
    )
    assert run.texts() == ["Hello! How can"]
    assert run.messages[0]["incomplete_details"] == {"reason": "run_failed"}
    usage = normalise_usage(run.usage)
    assert usage is not None and usage["estimated"]


@parametrize_stateless
async def test_a_reply_cut_by_max_tokens_is_an_incomplete_run(
    protocol: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        events, run = await collect(upstream.start_run(request("Hello", max_tokens=3)))

    assert names(events)[-2:] == ["thread.run.incomplete", "done"]
    assert run.run is not None
    assert run_of(run)["incomplete_details"] == {"reason": "max_completion_tokens"}
    assert run.texts() == ["Hello! How"]
    assert run.messages[0]["status"] == "incomplete"
    assert run.messages[0]["incomplete_details"] == {"reason": "max_tokens"}
    usage = normalise_usage(run.usage)
    assert usage is not None and usage["completion_tokens"] == 3


@parametrize_protocols
@pytest.mark.parametrize("status", [429, 503])
async def test_an_http_error_is_an_http_status_error(
    protocol: str, status: int, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        with pytest.raises(HTTPStatusError) as caught:
            await collect(upstream.start_run(request(unique(f"/sim status={status} Hello"))))

    assert caught.value.status_code == status and caught.value.retryable
    assert caught.value.retry_after == 1.0


@parametrize_protocols
async def test_a_retryable_error_is_retried_before_the_first_event(
    protocol: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url, max_retries=2) as upstream:
        # Retry-After: 1 makes this test take a second per protocol; worth it once.
        _, run = await collect(upstream.start_run(request(unique("/sim status=500 times=1 Hi"))))

    assert run.run_status == "completed"


@parametrize_protocols
async def test_a_malformed_event_is_skipped_and_the_reply_completes(
    protocol: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        stream = upstream.start_run(request("/sim malformed=2 Hello"))
        _, run = await collect(stream)

    assert getattr(stream, "skipped_events", None) == 1
    assert run.run_status == "completed"
    assert run.texts() == ["Hello! How can I assist you today?"]


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


@parametrize_stateless
async def test_stateless_upstreams_cannot_tell_a_final_state(
    protocol: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        _, run = await collect(upstream.start_run(request("Hello")))
        ids = {"thread_id": run_of(run)["thread_id"], "run_id": run_of(run)["id"]}
        assert await upstream.final_state(**ids) is None
        with pytest.raises(RunNotFoundError):  # a finished run is not kept
            upstream.submit_tool_outputs(**ids, tool_outputs=[])


async def test_the_assistants_final_state_is_the_servers_run_and_messages(
    simulator_url: str,
) -> None:
    async with upstream_for("assistants", simulator_url) as upstream:
        _, run = await collect(upstream.start_run(request("Hello")))
        ids = {"thread_id": run_of(run)["thread_id"], "run_id": run_of(run)["id"]}
        state = await upstream.final_state(**ids)
        _, again = await collect(upstream.start_run(request("Hello", thread_id=ids["thread_id"])))

    assert state is not None
    stored, messages = state
    assert stored["status"] == "completed"
    assert [message_text(m) for m in messages] == [SEED_TEXT]
    assert again.texts() == [SEED_TEXT] and run_of(again)["thread_id"] == ids["thread_id"]


def _client_ports(base_url: str) -> set[int]:
    """Local ports of this process's open connections to the server at `base_url`."""
    port = urlsplit(base_url).port
    return {
        conn.laddr.port
        for conn in psutil.Process().net_connections("tcp")
        if conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
    }


@parametrize_protocols
async def test_runs_one_after_another_reuse_one_connection(
    protocol: str, simulator_url: str
) -> None:
    """Read as the run engine reads: up to the run's end, not to the end of the body."""
    seen: list[set[int]] = []
    async with upstream_for(protocol, simulator_url) as upstream:
        for text in ("Hello", "And again"):
            async with upstream.start_run(request(unique(text))) as events:
                async for event in events:
                    if event.name in TERMINAL_RUN_EVENTS:
                        break
            seen.append(_client_ports(simulator_url))

    assert len(seen[0]) == 1
    assert seen[1] == seen[0]
