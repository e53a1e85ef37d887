"""The simulator's streams, over real HTTP: the seed's shape, replies, tools, pacing."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse
from simulator_client import (
    DEFAULT_ASSISTANT_ID,
    HEADERS,
    Event,
    assistant_messages,
    client,
    create_and_run,
    first,
    iter_events,
    names,
    no_server_errors,  # noqa: F401
    stream,
    text_of,
    thread_run_body,
    wait_for_run,
)

from assistants_proxy.simulator.script import plan_reply

pytestmark = pytest.mark.usefixtures("no_server_errors")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ID = re.compile(r"^(thread|run|step|msg|call|asst)_[A-Za-z0-9]{24}$")


def seed_events() -> list[tuple[str, Any]]:
    """The flattened seed capture as (event, data) pairs, stray key spaces removed."""
    text = (FIXTURES / "seed-capture.txt").read_text().strip()
    pairs = re.findall(r"event: (\S+)(?: data: (.*?))?(?= event: |$)", text)
    return [
        (name, json.loads(data, object_pairs_hook=_clean) if data else None) for name, data in pairs
    ]


def _clean(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {key.strip(): value for key, value in pairs}


def test_the_greeting_streams_exactly_the_seed(simulator_url: str) -> None:
    with client(simulator_url) as http:
        events = create_and_run(http, "Hello")
    seed = seed_events()
    assert names(events) == [name for name, _ in seed]
    for event, (name, data) in zip(events, seed, strict=True):
        if data is not None:
            assert list(event.data) == list(data), name  # same fields, same order
    ours = [e.data["delta"] for e in events if e.name == "thread.message.delta"]
    assert ours == [data["delta"] for name, data in seed if name == "thread.message.delta"]
    assert events[-1].raw == "[DONE]"


def test_the_greeting_reply_text_usage_and_ids(simulator_url: str) -> None:
    with client(simulator_url) as http:
        events = create_and_run(http, "hey!")
    completed = first(events, "thread.message.completed")
    assert text_of(events) == "Hello! How can I assist you today?"
    assert completed["content"][0]["text"]["value"] == text_of(events)
    run = first(events, "thread.run.completed")
    assert run["usage"]["completion_tokens"] == 9
    assert run["usage"]["total_tokens"] == run["usage"]["prompt_tokens"] + 9
    assert run["usage"] == first(events, "thread.run.step.completed")["usage"]
    assert run["model"] == "gpt-4o" and run["assistant_id"] == DEFAULT_ASSISTANT_ID
    assert run["instructions"] == "You are a very useful assistant."
    assert run["expires_at"] is None and run["completed_at"] >= run["created_at"]
    for object_id in (run["id"], run["thread_id"], completed["id"], run["assistant_id"]):
        assert ID.match(object_id), object_id


def test_the_default_assistant_has_the_seeds_tools(simulator_url: str) -> None:
    with client(simulator_url) as http:
        assistant = http.get(f"/assistants/{DEFAULT_ASSISTANT_ID}").json()
    seed_run = dict(seed_events())["thread.run.queued"]
    assert assistant["tools"] == seed_run["tools"]
    assert assistant["instructions"] == seed_run["instructions"]


@pytest.mark.parametrize("tokens", [1, 7, 60, 400])
def test_the_markdown_reply_has_the_requested_length(simulator_url: str, tokens: int) -> None:
    with client(simulator_url) as http:
        events = create_and_run(http, f"/sim tokens={tokens} Tell me about rivers")
    deltas = [e for e in events if e.name == "thread.message.delta"]
    assert len(deltas) == tokens
    assert first(events, "thread.run.completed")["usage"]["completion_tokens"] == tokens
    assert text_of(events) == plan_reply("Tell me about rivers", tokens=tokens).text


def test_the_default_reply_is_markdown_rich(simulator_url: str) -> None:
    with client(simulator_url) as http:
        events = create_and_run(http, "Tell me about rivers")
    text = text_of(events)
    assert 60 <= len([e for e in events if e.name == "thread.message.delta"]) <= 120
    assert "\n\n" in text and "\n- **" in text and "```python\n" in text
    assert text.count("```") == 2


def test_a_run_on_an_existing_thread_streams_without_thread_created(simulator_url: str) -> None:
    with client(simulator_url) as http:
        thread = http.post("/threads", json={}).json()
        http.post(f"/threads/{thread['id']}/messages", json={"role": "user", "content": "Hi"})
        body = {"assistant_id": DEFAULT_ASSISTANT_ID, "stream": True}
        events = stream(http, f"/threads/{thread['id']}/runs", body)
    assert names(events)[:3] == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
    ]
    assert text_of(events) == "Hello! How can I assist you today?"


def test_the_weather_round_trip_pauses_for_the_tool_and_uses_its_output(
    simulator_url: str,
) -> None:
    with client(simulator_url) as http:
        events = create_and_run(http, "What's the weather in Paris?")
        assert names(events)[-2:] == ["thread.run.requires_action", "done"]
        assert "thread.message.created" not in names(events)
        run = first(events, "thread.run.requires_action")
        call = run["required_action"]["submit_tool_outputs"]["tool_calls"][0]
        assert call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"]) == {"location": "Paris", "unit": "c"}
        assert _streamed_arguments(events) == call["function"]["arguments"]
        outputs = {"tool_outputs": [{"tool_call_id": call["id"], "output": "18C and sunny"}]}
        path = f"/threads/{run['thread_id']}/runs/{run['id']}/submit_tool_outputs"
        more = stream(http, path, {**outputs, "stream": True})
    assert names(more)[:3] == [
        "thread.run.step.completed",
        "thread.run.queued",
        "thread.run.in_progress",
    ]
    tool_step = more[0].data
    assert tool_step["step_details"]["tool_calls"][0]["function"]["output"] == "18C and sunny"
    assert "18C and sunny" in text_of(more) and "Paris" in text_of(more)
    final = first(more, "thread.run.completed")
    step_usage = [e.data["usage"] for e in more if e.name == "thread.run.step.completed"]
    assert final["usage"]["completion_tokens"] == sum(u["completion_tokens"] for u in step_usage)
    assert names(more)[-1] == "done"


def _streamed_arguments(events: list[Event]) -> str:
    deltas = [e.data for e in events if e.name == "thread.run.step.delta"]
    calls = [d["delta"]["step_details"]["tool_calls"][0] for d in deltas]
    assert calls[0]["id"].startswith("call_") and calls[0]["function"]["output"] is None
    return "".join(c["function"]["arguments"] for c in calls)


def test_tool_outputs_are_refused_when_the_run_is_not_waiting(simulator_url: str) -> None:
    with client(simulator_url) as http:
        run = first(create_and_run(http, "Hello"), "thread.run.completed")
        path = f"/threads/{run['thread_id']}/runs/{run['id']}/submit_tool_outputs"
        response = http.post(path, json={"tool_outputs": []})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_cancel_mid_stream_ends_the_stream_promptly(simulator_url: str) -> None:
    with client(simulator_url) as http, client(simulator_url) as other:
        events: list[Event] = []
        body = thread_run_body("/sim rate=20 tokens=200 Tell me about rivers")
        for event in iter_events(http, "/threads/runs", body):
            events.append(event)
            if event.name == "thread.message.delta" and names(events).count(event.name) == 3:
                run = first(events, "thread.run.created")
                cancelled_at = time.monotonic()
                path = f"/threads/{run['thread_id']}/runs/{run['id']}/cancel"
                assert other.post(path).json()["status"] == "cancelling"
        assert events[-1].received_at - cancelled_at < 0.5
        assert names(events)[-5:] == [
            "thread.run.cancelling",
            "thread.message.incomplete",
            "thread.run.step.cancelled",
            "thread.run.cancelled",
            "done",
        ]
        final = first(events, "thread.run.cancelled")
        assert final["usage"]["completion_tokens"] == names(events).count("thread.message.delta")
        wait_for_run(http, run["thread_id"], run["id"], "cancelled")
        [message] = assistant_messages(http, run["thread_id"])
    assert message["status"] == "incomplete"
    assert message["incomplete_details"] == {"reason": "run_cancelled"}
    assert message["content"][0]["text"]["value"] == text_of(events)


def test_pacing_follows_the_requested_rate(simulator_url: str) -> None:
    with client(simulator_url) as http:
        events = create_and_run(http, "/sim rate=50 tokens=26 Tell me about rivers")
    deltas = [e.received_at for e in events if e.name == "thread.message.delta"]
    assert 0.45 <= deltas[-1] - deltas[0] <= 0.75  # 25 intervals of 20 ms


async def test_concurrent_streams_keep_their_pace(simulator_url: str) -> None:
    """Judged by the server's own emission stamps, so client-side jitter does not count."""

    async def one(http: httpx.AsyncClient) -> float:
        body = thread_run_body("/sim stamp rate=100 tokens=31 Tell me about rivers")
        async with aconnect_sse(http, "POST", "/threads/runs", json=body) as source:
            stamps = [
                json.loads(sse.data)["sim_emitted_at"]
                async for sse in source.aiter_sse()
                if sse.event == "thread.message.delta"
            ]
        return float(stamps[-1] - stamps[0])

    async with httpx.AsyncClient(base_url=simulator_url, headers=HEADERS, timeout=20) as http:
        durations = await asyncio.gather(*(one(http) for _ in range(30)))
    assert min(durations) >= 0.29  # 30 intervals of 10 ms
    # The median keeps the pace; one stream may lose a scheduler slice on a loaded machine,
    # but a pace that drifts (sleeps that add up instead of a schedule) fails both.
    assert sorted(durations)[len(durations) // 2] <= 0.3 * 1.2
    assert max(durations) <= 0.3 * 2


def test_a_non_streaming_run_completes_in_the_background(simulator_url: str) -> None:
    with client(simulator_url) as http:
        response = http.post("/threads/runs", json=thread_run_body("Hello", stream=False))
        run = response.json()
        assert response.headers["content-type"] == "application/json"
        assert run["object"] == "thread.run" and run["status"] == "queued"
        done = wait_for_run(http, run["thread_id"], run["id"], "completed")
        [message] = assistant_messages(http, run["thread_id"])
    assert message["content"][0]["text"]["value"] == "Hello! How can I assist you today?"
    assert done["usage"]["completion_tokens"] == 9


def test_a_client_that_disconnects_leaves_the_run_to_finish(simulator_url: str) -> None:
    with client(simulator_url) as http:
        body = thread_run_body("/sim rate=100 tokens=40 Tell me about rivers")
        for event in iter_events(http, "/threads/runs", body):
            if event.name == "thread.run.created":
                run = event.data
            if event.name == "thread.message.delta":
                break  # leaving the block closes the connection mid-stream
        wait_for_run(http, run["thread_id"], run["id"], "completed")
        [message] = assistant_messages(http, run["thread_id"])
    assert message["status"] == "completed"
    assert (
        message["content"][0]["text"]["value"] == plan_reply("Tell me about rivers", tokens=40).text
    )
