"""The official openai SDK against the simulator: it must work as a drop-in base_url."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from openai import AssistantEventHandler, OpenAI
from simulator_client import DEFAULT_ASSISTANT_ID, no_server_errors  # noqa: F401

# The SDK marks every Assistants method deprecated; that is not this test's concern.
pytestmark = [
    pytest.mark.usefixtures("no_server_errors"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture
def openai_client(simulator_url: str) -> OpenAI:
    return OpenAI(base_url=simulator_url, api_key="sk-anything", max_retries=2)


def _user(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def test_create_and_run_stream_yields_typed_events(openai_client: OpenAI) -> None:
    stream = openai_client.beta.threads.create_and_run(
        assistant_id=DEFAULT_ASSISTANT_ID, thread=_user("Hello"), stream=True
    )
    events = list(stream)
    text = "".join(
        part.text.value
        for event in events
        if event.event == "thread.message.delta"
        for part in event.data.delta.content or []
        if part.type == "text" and part.text and part.text.value
    )
    assert events[0].event == "thread.created"
    assert events[-1].event == "thread.run.completed"
    assert text == "Hello! How can I assist you today?"
    assert events[-1].data.usage is not None and events[-1].data.usage.completion_tokens == 9


class Collector(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.deltas: list[str] = []

    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.deltas.append(delta.value)


def test_the_event_handler_flow_accumulates_the_final_text(openai_client: OpenAI) -> None:
    threads = openai_client.beta.threads
    thread = threads.create(messages=[{"role": "user", "content": "/sim tokens=50 Rivers?"}])
    handler = Collector()
    with threads.runs.stream(
        thread_id=thread.id, assistant_id=DEFAULT_ASSISTANT_ID, event_handler=handler
    ) as stream:
        stream.until_done()
    [message] = handler.get_final_messages()
    final_text = message.content[0].text.value  # type: ignore[union-attr]
    assert len(handler.deltas) == 50 and "".join(handler.deltas) == final_text
    assert handler.get_final_run().status == "completed"
    listed = threads.messages.list(thread_id=thread.id, order="asc")
    assert listed.data[-1].content[0].text.value == final_text  # type: ignore[union-attr]


def test_the_tool_call_round_trip_with_submit_tool_outputs_stream(openai_client: OpenAI) -> None:
    threads = openai_client.beta.threads
    thread = threads.create(messages=[{"role": "user", "content": "Weather in Oslo?"}])
    with threads.runs.stream(thread_id=thread.id, assistant_id=DEFAULT_ASSISTANT_ID) as first:
        first.until_done()
        run = first.get_final_run()
    assert run.status == "requires_action" and run.required_action is not None
    [call] = run.required_action.submit_tool_outputs.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments)["location"] == "Oslo"
    with threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "-3C and snowing"}],
    ) as second:
        second.until_done()
        [message] = second.get_final_messages()
        assert second.get_final_run().status == "completed"
    assert "-3C and snowing" in message.content[0].text.value  # type: ignore[union-attr]


def test_cancel_through_the_sdk(openai_client: OpenAI) -> None:
    threads = openai_client.beta.threads
    thread = threads.create(messages=[{"role": "user", "content": "/sim rate=10 Long one"}])
    run = threads.runs.create(thread_id=thread.id, assistant_id=DEFAULT_ASSISTANT_ID)
    cancelling = threads.runs.cancel(thread_id=thread.id, run_id=run.id)
    assert cancelling.status == "cancelling"
    deadline = time.monotonic() + 2
    while threads.runs.retrieve(thread_id=thread.id, run_id=run.id).status != "cancelled":
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_the_sdk_retries_a_429_and_then_succeeds(openai_client: OpenAI) -> None:
    text = f"/sim status=429 times=1 Hello {time.time_ns()}"
    started = time.monotonic()
    run = openai_client.beta.threads.create_and_run_poll(
        assistant_id=DEFAULT_ASSISTANT_ID, thread=_user(text), poll_interval_ms=20
    )
    assert run.status == "completed"
    assert time.monotonic() - started >= 0.9  # it honoured Retry-After: 1
