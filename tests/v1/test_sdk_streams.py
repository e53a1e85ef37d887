"""Streamed and polled runs through the official SDK: the seed's event order, usage, the
text the web chat stores, create-and-poll, cancel, and a run that outlives its client."""

from __future__ import annotations

import time

import httpx
import openai
from openai import AssistantEventHandler
from typing_extensions import override

from tests.e2e.appserver import RunningApp
from tests.v1.support import delta_text, pk, seed_event_names, stored_reply

HELLO = {"role": "user", "content": "Hello"}


def _assistant(client: openai.OpenAI, model: str = "gpt-4o") -> str:
    return client.beta.assistants.create(model=model, name="Helper", instructions="Be brief.").id


def test_create_and_run_streams_the_seeds_events_in_the_seeds_order(
    alice_sdk: openai.OpenAI,
) -> None:
    stream = alice_sdk.beta.threads.create_and_run(
        assistant_id=_assistant(alice_sdk), thread={"messages": [HELLO]}, stream=True
    )
    events = list(stream)
    # The SDK consumes `done` itself: the seed without its last event.
    assert [event.event for event in events] == seed_event_names()[:-1]
    text = delta_text(events)
    assert text == "Hello! How can I assist you today?"
    completed = events[-1].data
    assert completed.status == "completed" and completed.usage is not None
    assert completed.usage.total_tokens > 0
    thread_id = events[0].data.id
    assert completed.thread_id == thread_id and completed.id.startswith("run_")
    run = alice_sdk.beta.threads.runs.retrieve(completed.id, thread_id=thread_id)
    assert run.status == "completed" and run.usage is not None and run.usage.total_tokens > 0


def test_the_wire_ends_with_done(raw_alice: httpx.Client, alice_sdk: openai.OpenAI) -> None:
    body = {"assistant_id": _assistant(alice_sdk), "thread": {"messages": [HELLO]}}
    with raw_alice.stream("POST", "/threads/runs", json={**body, "stream": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        wire = response.read().decode()
    assert wire.startswith("event: thread.created\ndata: {")
    assert wire.endswith("event: done\ndata: [DONE]\n\n")
    assert wire.rsplit("\n\n", 3)[-3].startswith("event: thread.run.completed\ndata: {")
    # One `data:` line per event, none of the browser's frames.
    blocks = [block for block in wire.split("\n\n") if block]
    assert all(len(block.split("\n")) == 2 for block in blocks)
    assert '"event":' not in wire and "notice" not in wire


class _Collector(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.text = ""

    @override
    def on_text_delta(self, delta, snapshot) -> None:  # type: ignore[no-untyped-def]
        self.text += delta.value or ""


def test_runs_stream_accumulates_the_text_the_web_chat_stores(
    alice_sdk: openai.OpenAI, v1_app: RunningApp
) -> None:
    thread = alice_sdk.beta.threads.create(
        messages=[{"role": "user", "content": "/sim tokens=60 Tell me about rivers"}]
    )
    handler = _Collector()
    with alice_sdk.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=_assistant(alice_sdk), event_handler=handler
    ) as stream:
        stream.until_done()
        final = stream.get_final_run()
    assert final.status == "completed"
    assert len(handler.text) > 100
    assert handler.text == stored_reply(v1_app, pk(thread.id))
    messages = alice_sdk.beta.threads.messages.list(thread_id=thread.id, order="asc")
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages.data[1].content[0].text.value == handler.text  # type: ignore[union-attr]


def test_create_and_poll(alice_sdk: openai.OpenAI) -> None:
    thread = alice_sdk.beta.threads.create(messages=[HELLO])
    run = alice_sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=_assistant(alice_sdk), poll_interval_ms=100
    )
    assert run.status == "completed" and run.usage is not None
    reply = alice_sdk.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data
    assert [m.content[0].text.value for m in reply] == [  # type: ignore[union-attr]
        "Hello! How can I assist you today?"
    ]


def test_cancel_stops_a_streaming_run(alice_sdk: openai.OpenAI) -> None:
    thread = alice_sdk.beta.threads.create(
        messages=[{"role": "user", "content": "/sim tokens=2000 rate=20 A long story"}]
    )
    run = alice_sdk.beta.threads.runs.create(
        thread_id=thread.id, assistant_id=_assistant(alice_sdk)
    )
    assert run.status == "queued"
    _wait_for(alice_sdk, thread.id, run.id, {"in_progress"})
    cancelled = alice_sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelled.status in ("cancelling", "cancelled")
    final = _wait_for(alice_sdk, thread.id, run.id, {"cancelled"})
    assert final.cancelled_at is not None


def test_a_run_outlives_the_client_that_started_it(alice_sdk: openai.OpenAI) -> None:
    thread = alice_sdk.beta.threads.create(
        messages=[{"role": "user", "content": "/sim tokens=40 rate=40 Keep going"}]
    )
    stream = alice_sdk.beta.threads.runs.create(
        thread_id=thread.id, assistant_id=_assistant(alice_sdk), stream=True
    )
    run_id = ""
    for event in stream:
        if event.event == "thread.message.delta":
            break  # the client goes away mid-reply
        if event.event == "thread.run.created":
            run_id = event.data.id
    stream.close()
    final = _wait_for(alice_sdk, thread.id, run_id, {"completed"})
    assert final.usage is not None and final.usage.completion_tokens == 40


def _wait_for(client: openai.OpenAI, thread_id: str, run_id: str, wanted: set[str]):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 20
    while True:
        run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        if run.status in wanted or time.monotonic() > deadline:
            assert run.status in wanted, run
            return run
        time.sleep(0.1)
