"""The run engine against the simulator over real HTTP: tools, cancel and upstream failures,
each persisted with nothing lost and each visible to the browser as a run's last frame."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async

from chat.models import Assistant, Message, Run
from chat.runs import get_engine
from chat.services import run_start, thread_create
from tests.chat.test_consumers import connect, frames_until_end

pytestmark = pytest.mark.django_db(transaction=True)


PROTOCOLS = ["assistants", "chat_completions", "responses"]


@pytest.fixture(autouse=True, params=PROTOCOLS)
def protocol(request: pytest.FixtureRequest) -> str:
    """Every behaviour here runs once per upstream protocol: the browser must not notice."""
    return str(request.param)


@pytest.fixture(autouse=True)
def simulator(
    transactional_db: None, settings: Any, simulator_url: str, protocol: str
) -> Assistant:
    settings.SIMULATOR_URL = simulator_url
    settings.UPSTREAM_MAX_RETRIES = 2
    assistant, _ = Assistant.objects.update_or_create(
        is_default=True,
        defaults={
            "name": "Simulator",
            "model": "gpt-4o",
            "protocol": protocol,
            "tools": [WEATHER_TOOL],
        },
    )
    return assistant


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Determine weather in my location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "unit": {"type": "string", "enum": ["c", "f"]},
            },
            "required": ["location"],
        },
    },
}


async def run_to_end(user: Any, content: str) -> tuple[Run, list[dict[str, Any]]]:
    thread, run = await database_sync_to_async(thread_create)(owner=user, content=content)
    socket = await connect(user, thread.pk)
    get_engine().launch(run.pk)
    frames = await frames_until_end(socket)
    await get_engine().wait(run.pk)
    await socket.disconnect()
    return await Run.objects.aget(pk=run.pk), frames


async def reply_of(run: Run) -> Message:
    return await Message.objects.aget(run=run, role="assistant")


async def test_a_markdown_reply_is_persisted_whole(alice: Any) -> None:
    run, frames = await run_to_end(alice, "/sim tokens=300 Tell me about rivers")
    deltas = [f for f in frames if f["event"] == "thread.message.delta"]
    assert len(deltas) == 300
    text = "".join(d["data"]["delta"]["content"][0]["text"]["value"] for d in deltas)
    reply = await reply_of(run)
    assert (reply.content, reply.status, run.status) == (text, "completed", "completed")
    assert run.completion_tokens == 300 and not run.usage_estimated
    # The search index finds a message by its owner: the reply's is the thread's.
    owners = Message.objects.filter(run=run).values_list("owner_id", flat=True)
    assert {owner async for owner in owners} == {alice.pk}


async def test_a_weather_question_runs_the_tool_and_continues(alice: Any, settings: Any) -> None:
    # No network here: the tool's error output goes back to the model, and the run goes on.
    settings.WEATHER_GEOCODING_URL = "http://127.0.0.1:9/v1/search"
    run, frames = await run_to_end(alice, "What's the weather in Paris?")
    names = [f["event"] for f in frames]
    assert "thread.run.requires_action" in names
    assert names[-1] == "thread.run.completed"
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    step = next(
        f
        for f in frames
        if f["event"] == "thread.run.step.completed"
        and f["data"]["step_details"]["type"] == "tool_calls"
    )
    output = json.loads(step["data"]["step_details"]["tool_calls"][0]["function"]["output"])
    assert "unreachable" in output["error"]
    assert run.status == "completed" and (await reply_of(run)).content


async def test_cancel_stops_within_a_second_and_keeps_the_partial_text(alice: Any) -> None:
    thread, run = await database_sync_to_async(thread_create)(
        owner=alice, content="/sim tokens=2000 rate=50 A long story"
    )
    socket = await connect(alice, thread.pk)
    get_engine().launch(run.pk)
    while (await socket.receive_json_from(timeout=5))["event"] != "thread.message.delta":
        pass
    started = asyncio.get_running_loop().time()
    assert await get_engine().cancel(run.pk)
    frames = await frames_until_end(socket)
    await get_engine().wait(run.pk)
    assert asyncio.get_running_loop().time() - started < 1.0
    assert frames[-1]["event"] == "thread.run.cancelled"
    run = await Run.objects.aget(pk=run.pk)
    reply = await reply_of(run)
    assert run.status == "cancelled" and reply.status == "incomplete"
    assert reply.content and run.completion_tokens > 0
    await socket.disconnect()


@pytest.mark.parametrize(
    ("directive", "code"),
    [
        ("fail", "server_error"),
        ("error-event", None),
        ("status=500 times=9", "upstream_http_500"),
    ],
)
async def test_upstream_failures_fail_the_run_with_a_reason(
    alice: Any, directive: str, code: str | None
) -> None:
    run, frames = await run_to_end(alice, f"/sim {directive} tokens=40 Hi there friend")
    assert run.status == "failed"
    assert run.last_error and run.last_error.get("message")
    if code is not None:
        assert run.last_error["code"] == code
    assert frames[-1]["event"] == "thread.run.failed"


async def test_a_malformed_event_is_skipped_counted_and_the_reply_completes(alice: Any) -> None:
    run, frames = await run_to_end(alice, "/sim malformed tokens=40 Hi there friend")
    assert (run.status, run.skipped_events) == ("completed", 1)
    assert any("malformed" in note for note in run.notes)
    assert frames[-1]["event"] == "thread.run.completed"
    reply = await reply_of(run)
    assert reply.status == "completed" and len(reply.content.split()) >= 30


async def test_a_429_is_retried_before_the_first_event(alice: Any) -> None:
    run, _ = await run_to_end(alice, "/sim status=429 times=1 tokens=20 Tell me something")
    assert run.status == "completed"


async def test_a_stalled_upstream_fails_after_the_silence_limit_unless_it_can_say_the_end(
    alice: Any, settings: Any, protocol: str
) -> None:
    settings.UPSTREAM_STALL_TIMEOUT = 0.5
    run, frames = await run_to_end(alice, "/sim stall=2 tokens=40 Tell me something")
    if protocol == "assistants":
        # An Assistants server keeps runs: its final state completes the reply.
        assert run.status == "completed"
        assert (await reply_of(run)).status == "completed"
    else:
        assert (run.status, run.last_error["code"]) == ("failed", "upstream_stalled")
        assert (await reply_of(run)).status == "incomplete"


@pytest.mark.parametrize("protocol", ["assistants"])  # only it can say how a cut run ended
async def test_a_dropped_stream_is_reconciled_from_the_upstream(alice: Any, protocol: str) -> None:
    run, frames = await run_to_end(alice, "/sim drop-after=20 tokens=200 rate=400 Tell me more")
    streamed = [f for f in frames if f["event"] == "thread.message.delta"]
    assert len(streamed) == 20
    final = next(f for f in frames if f["event"] == "thread.message.completed")
    text = final["data"]["content"][0]["text"]["value"]
    reply = await reply_of(run)
    assert (run.status, reply.status, reply.content) == ("completed", "completed", text)
    assert run.completion_tokens == 200


@pytest.mark.parametrize("protocol", ["chat_completions", "responses"])
async def test_a_dropped_stateless_stream_keeps_its_partial_text(alice: Any, protocol: str) -> None:
    run, frames = await run_to_end(alice, "/sim drop-after=20 tokens=200 rate=400 Tell me more")
    streamed = "".join(
        f["data"]["delta"]["content"][0]["text"]["value"]
        for f in frames
        if f["event"] == "thread.message.delta"
    )
    reply = await reply_of(run)
    assert run.status == "failed" and run.last_error["message"]
    assert (reply.content, reply.status) == (streamed, "incomplete")
    assert frames[-1]["event"] == "thread.run.failed"


async def test_a_follow_up_sends_the_history_or_continues_the_conversation(alice: Any) -> None:
    thread, run = await database_sync_to_async(thread_create)(owner=alice, content="Hello")
    get_engine().launch(run.pk)
    await get_engine().wait(run.pk)
    second = await database_sync_to_async(run_start)(thread=thread, content="Hello again")
    get_engine().launch(second.pk)
    await get_engine().wait(second.pk)
    first, second = await Run.objects.aget(pk=run.pk), await Run.objects.aget(pk=second.pk)
    assert (first.status, second.status) == ("completed", "completed")
    # The upstream saw the first exchange too: a bigger prompt.
    assert second.prompt_tokens > first.prompt_tokens


async def test_reasoning_and_refusals_are_kept_with_the_reply(alice: Any, protocol: str) -> None:
    run, frames = await run_to_end(alice, "/sim reasoning tokens=20 Think first")
    reply = await reply_of(run)
    summary = reply.metadata.get("reasoning_summary")
    if protocol == "assistants":
        # Assistants v2 has no reasoning summaries: nothing to keep.
        assert summary is None
    else:
        assert isinstance(summary, str) and summary
        completed = [f for f in frames if f["event"] == "thread.message.completed"]
        assert completed[-1]["data"]["metadata"]["reasoning_summary"] == summary

    run, _ = await run_to_end(alice, "/sim refuse Help me with something bad")
    reply = await reply_of(run)
    assert reply.content == "I'm sorry, I can't assist with that request."
    # Assistants streams a refusal as plain text; the other two mark it as one.
    assert reply.metadata.get("refusal") is (None if protocol == "assistants" else True)


async def test_a_nul_in_a_reply_is_stored_replaced_and_said(alice: Any) -> None:
    # PostgreSQL refuses a NUL in text: the reply the browser saw must still be stored whole.
    run, frames = await run_to_end(alice, "/sim nul tokens=20 Tell me something")
    reply = await reply_of(run)
    assert (run.status, reply.status) == ("completed", "completed")
    assert reply.content.startswith("NUL\ufffd ") and len(reply.content.split()) >= 15
    assert any("U+FFFD" in note for note in run.notes)
    assert frames[-1]["event"] == "thread.run.completed"


async def test_the_browser_is_told_when_the_model_goes_silent(alice: Any, settings: Any) -> None:
    settings.UPSTREAM_SILENCE_NOTICE_SECONDS = 0.3
    run, frames = await run_to_end(alice, "/sim stall=1.5 tokens=40 Tell me something")
    notices = [f for f in frames if f["event"] == "notice"]
    assert len(notices) == 1 and notices[0]["data"]["code"] == "upstream_silent"
    after = frames[frames.index(notices[0]) + 1 :]
    assert any(f["event"] == "thread.message.delta" for f in after)
    assert run.status == "completed"


async def test_a_404_says_which_url_and_suggests_the_protocol(
    alice: Any, simulator: Assistant, simulator_url: str, caplog: Any, protocol: str
) -> None:
    simulator.base_url = simulator_url + "/nowhere"
    await simulator.asave()
    run, frames = await run_to_end(alice, "Hello")
    assert (run.status, run.last_error["code"]) == ("failed", "upstream_http_404")
    assert "/nowhere/" in run.last_error["message"] and "protocol" in run.last_error["message"]
    assert run.upstream_error["status"] == 404 and "/nowhere/" in run.upstream_error["url"]
    failed = [r for r in caplog.records if r.levelname == "WARNING" and "failed" in r.message]
    assert failed and f"run {run.pk} " in failed[0].message and "/nowhere" in failed[0].message
    assert frames[-1]["event"] == "thread.run.failed"


async def test_a_server_error_shows_one_sentence_and_keeps_the_whole_answer(alice: Any) -> None:
    run, _ = await run_to_end(alice, "/sim status=500 times=9 Hi")
    message = run.last_error["message"]
    assert message == "The model server failed to answer. Try again in a moment."
    assert run.upstream_error["status"] == 500 and run.upstream_error["body"]
