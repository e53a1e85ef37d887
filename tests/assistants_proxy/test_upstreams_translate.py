"""The protocol translators on hand-made streams: the quirks real servers have that the
simulator does not (errors as chunks, no [DONE], tool calls ending in "stop", ...)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from upstreams_client import request, run_of

from assistants_proxy.accumulator import RunAccumulator
from assistants_proxy.sse import ServerSentEvent
from assistants_proxy.upstreams import objects
from assistants_proxy.upstreams.builder import RunBuilder
from assistants_proxy.upstreams.chat_translate import ChatTranslator
from assistants_proxy.upstreams.responses_translate import ResponsesTranslator
from assistants_proxy.upstreams.state import RunState
from assistants_proxy.usage import estimate_tokens, normalise_usage


def run_chat(*chunks: Any, ended: bool = False) -> RunAccumulator:
    translator = ChatTranslator(_builder())
    return _run(translator, [ServerSentEvent(data=_data(c)) for c in chunks], ended)


def run_responses(*events: dict[str, Any], ended: bool = False) -> RunAccumulator:
    builder = _builder()
    translator = ResponsesTranslator(builder, builder.state)
    sses = [ServerSentEvent(event=e["type"], data=json.dumps(e)) for e in events]
    return _run(translator, sses, ended)


def _builder() -> RunBuilder:
    req = request("Hi")
    state = RunState(objects.run(req, thread_id="thread_1"), req, [])
    return RunBuilder(state, prompt_tokens=estimate_tokens("Hi there"))


def _run(translator: Any, sses: list[ServerSentEvent], ended: bool) -> RunAccumulator:
    accumulator = RunAccumulator()
    events = translator.builder.start()
    for sse in sses:
        events += translator.feed(sse)
    if not translator.builder.finished:
        events += translator.end()
    for event in events:
        accumulator.feed(event)
    return accumulator


def _data(chunk: Any) -> str:
    return chunk if isinstance(chunk, str) else json.dumps(chunk)


def delta(**fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": None}]}


def finish(reason: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}


def test_a_chat_stream_without_done_or_usage_still_completes_with_estimated_usage() -> None:
    run = run_chat(delta(role="assistant", content=""), delta(content="Hi!"), finish("stop"))

    assert run.run_status == "completed" and run.texts() == ["Hi!"]
    usage = normalise_usage(run.usage)
    assert usage is not None and usage["estimated"] and usage["completion_tokens"] == 1


def test_a_chat_stream_cut_before_its_finish_reason_fails_the_run() -> None:
    run = run_chat(delta(content="Hel"))

    assert run.run_status == "failed"
    assert run_of(run)["last_error"]["code"] == "stream_ended"
    assert run.texts() == ["Hel"]


@pytest.mark.parametrize(
    "chunk",
    [
        {"error": {"message": "overloaded", "type": "server_error", "code": "overloaded"}},
        {"object": "error", "message": "overloaded", "type": "overloaded", "code": 503},
    ],
)
def test_an_error_chunk_fails_the_run(chunk: dict[str, Any]) -> None:
    run = run_chat(delta(content="Hel"), chunk, "[DONE]")

    assert run.run_status == "failed"
    assert run_of(run)["last_error"]["message"] == "overloaded"


def test_a_tool_call_that_finishes_with_stop_still_requires_action() -> None:
    call = {
        "index": 0,
        "id": "abc",
        "type": "function",
        "function": {"name": "f", "arguments": "{}"},
    }
    run = run_chat(delta(role="assistant", tool_calls=[call]), finish("stop"), "[DONE]")

    assert run.run_status == "requires_action"
    [listed] = run_of(run)["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert listed["id"].startswith("call_") and len(listed["id"]) == 29  # not the server's "abc"
    assert listed["function"] == {"name": "f", "arguments": "{}"}


def test_text_before_a_tool_call_is_a_message_of_its_own() -> None:
    call = {"index": 0, "id": "call_" + "a" * 24, "function": {"name": "f", "arguments": ""}}
    more = {"index": 0, "function": {"arguments": '{"x":1}'}}
    run = run_chat(
        delta(content="Let me check."),
        delta(tool_calls=[call]),
        delta(tool_calls=[more]),
        finish("tool_calls"),
        "[DONE]",
    )

    assert run.texts() == ["Let me check."] and run.messages[0]["status"] == "completed"
    assert [s["type"] for s in run.steps] == ["message_creation", "tool_calls"]
    assert run.steps[1]["step_details"]["tool_calls"][0]["function"]["arguments"] == '{"x":1}'


def test_reasoning_content_goes_to_the_message_metadata() -> None:
    run = run_chat(
        delta(reasoning_content="Think"),
        delta(reasoning=" hard"),
        delta(content="42"),
        finish("stop"),
    )

    assert run.texts() == ["42"]
    assert run.messages[0]["metadata"] == {"reasoning_summary": "Think hard"}


def test_content_filter_is_an_incomplete_run() -> None:
    run = run_chat(delta(content="Well"), finish("content_filter"), "[DONE]")

    assert run.run_status == "incomplete"
    assert run_of(run)["incomplete_details"] == {"reason": "content_filter"}


def test_a_responses_error_event_fails_the_run() -> None:
    run = run_responses(
        {"type": "response.output_text.delta", "delta": "Hi"},
        {"type": "error", "code": "server_error", "message": "boom", "sequence_number": 3},
    )

    assert run.run_status == "failed" and run.texts() == ["Hi"]
    assert run_of(run)["last_error"] == {"code": "server_error", "message": "boom"}


def test_a_responses_refusal_and_a_reasoning_summary() -> None:
    run = run_responses(
        {"type": "response.reasoning_summary_text.delta", "delta": "Unsafe."},
        {"type": "response.refusal.delta", "delta": "I can't help."},
        {"type": "response.completed", "response": {"usage": {"input_tokens": 3}}},
    )

    assert run.texts() == ["I can't help."]
    assert run.messages[0]["metadata"] == {"refusal": True, "reasoning_summary": "Unsafe."}


def test_a_function_call_sent_whole_without_argument_deltas() -> None:
    item = {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "f", "arguments": ""}
    run = run_responses(
        {"type": "response.output_item.added", "item": item, "output_index": 0},
        {
            "type": "response.function_call_arguments.done",
            "item_id": "fc_1",
            "arguments": '{"a":2}',
        },
        {"type": "response.completed", "response": {}},
    )

    [call] = run_of(run)["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert call["function"] == {"name": "f", "arguments": '{"a":2}'}


def test_a_responses_stream_without_a_terminal_event_fails_the_run() -> None:
    run = run_responses({"type": "response.output_text.delta", "delta": "Hi"})

    assert run.run_status == "failed"
    assert run_of(run)["last_error"]["code"] == "stream_ended"
