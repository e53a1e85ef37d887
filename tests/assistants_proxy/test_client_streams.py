"""The client streams runs from a real simulator over HTTP: replies, tool calls, cancels."""

from __future__ import annotations

import json
from typing import Any

from client_upstream import SEED, SEED_TEXT, Upstream, collect, names, thread_run

from assistants_proxy.accumulator import RunAccumulator, message_text
from assistants_proxy.sse import read_capture

# -- streaming runs --------------------------------------------------------------------------


async def test_it_streams_a_greeting_to_the_seeds_reply(upstream: Upstream) -> None:
    seed_names = [e.event for e in read_capture(SEED.read_text("utf-8"))]

    async with upstream.client() as client:
        events, run = await collect(client.stream_thread_and_run(**thread_run("Hello")))

    assert names(events) == seed_names
    assert run.texts() == [SEED_TEXT]
    assert run.run_status == "completed"
    assert run.usage is not None and run.usage["completion_tokens"] == 9
    assert run.usage["total_tokens"] == run.usage["prompt_tokens"] + 9
    assert run.done
    (request,) = upstream.requests
    assert request.url.path.endswith("/threads/runs")
    assert request.headers["OpenAI-Beta"] == "assistants=v2"
    assert request.headers["Accept"] == "text/event-stream"
    assert request.headers["Authorization"] == "Bearer sk-test"
    assert json.loads(request.content)["stream"] is True
    assert upstream.sleeps == []


async def test_a_weather_question_pauses_for_tool_outputs_and_then_continues(
    upstream: Upstream,
) -> None:
    async with upstream.client() as client:
        first, run = await collect(
            client.stream_thread_and_run(**thread_run("What's the weather in Paris?"))
        )
        assert names(first)[-2:] == ["thread.run.requires_action", "done"]
        assert run.run is not None and run.run_status == "requires_action"
        (call,) = run.run["required_action"]["submit_tool_outputs"]["tool_calls"]
        assert call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"]) == {"location": "Paris", "unit": "c"}
        (step,) = run.steps
        (streamed_call,) = step["step_details"]["tool_calls"]
        assert streamed_call["id"] == call["id"]
        assert streamed_call["function"]["arguments"] == call["function"]["arguments"]

        outputs = [{"tool_call_id": call["id"], "output": "22 C and sunny"}]
        stream = client.stream_submit_tool_outputs(run.run["thread_id"], run.run["id"], outputs)
        second, run = await collect(stream, run)

    assert names(second)[0] == "thread.run.step.completed"
    assert names(second)[-2:] == ["thread.run.completed", "done"]
    assert run.run_status == "completed"
    assert "22 C and sunny" in run.texts()[0]
    tool_step = run.steps[0]
    assert tool_step["step_details"]["tool_calls"][0]["function"]["output"] == "22 C and sunny"
    assert json.loads(upstream.requests[-1].content) == {"tool_outputs": outputs, "stream": True}


async def test_it_cancels_a_run_mid_stream(upstream: Upstream) -> None:
    deltas: list[str] = []
    seen: list[str] = []
    cancelled: dict[str, Any] = {}
    run = RunAccumulator()
    text = "/sim rate=40 tokens=400 Tell me about rivers"

    async with upstream.client() as client:
        async with client.stream_thread_and_run(**thread_run(text)) as events:
            async for event in events:
                run.feed(event)
                seen.append(event.name)
                if event.name == "thread.message.delta":
                    deltas.append(event.data["delta"]["content"][0]["text"]["value"])
                if len(deltas) == 3 and not cancelled and run.run is not None:
                    thread_id, run_id = run.run["thread_id"], run.run["id"]
                    cancelled = await client.cancel_run(thread_id, run_id)
        stored = await client.retrieve_run(thread_id, run_id)

    assert cancelled["status"] == "cancelling"
    tail = [name for name in seen if name != "thread.message.delta"]
    assert tail[-5:] == [
        "thread.run.cancelling",
        "thread.message.incomplete",
        "thread.run.step.cancelled",
        "thread.run.cancelled",
        "done",
    ]
    assert run.run_status == "cancelled" and stored["status"] == "cancelled"
    assert 3 <= len(deltas) < 400
    (message,) = run.messages
    assert message["status"] == "incomplete"
    assert message_text(message) == "".join(deltas)


async def test_the_json_endpoints_round_trip(upstream: Upstream) -> None:
    async with upstream.client() as client:
        assistant = await client.create_assistant(model="gpt-4o", name="Tester")
        assert (await client.retrieve_assistant(assistant["id"]))["name"] == "Tester"
        thread = await client.create_thread(messages=[{"role": "user", "content": "Hello"}])
        assert (await client.retrieve_thread(thread["id"]))["id"] == thread["id"]
        _, run = await collect(client.stream_run(thread["id"], assistant_id=assistant["id"]))
        assert run.run is not None
        stored = await client.retrieve_run(thread["id"], run.run["id"])
        messages = await client.list_messages(thread["id"], order="asc")
        added = await client.create_message(thread["id"], role="user", content="Thanks")
        deleted = await client.delete_thread(thread["id"])

    assert assistant["id"].startswith("asst_")
    assert stored["status"] == "completed"
    assert [m["role"] for m in messages["data"]] == ["user", "assistant"]
    assert message_text(messages["data"][1]) == SEED_TEXT
    assert added["role"] == "user"
    assert deleted["deleted"] is True
