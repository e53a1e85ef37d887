"""The accumulator folds the seed and the recordings into their text, status and usage."""

from __future__ import annotations

import pytest
from accumulator_streams import (
    ASSISTANTS_RECORDINGS,
    SEED,
    SEED_TEXT,
    accumulate,
    expected,
    load,
    recording,
    tool_calls,
)

# -- the seed and the recordings -------------------------------------------------------------


def test_the_seed_accumulates_to_its_greeting() -> None:
    accumulator = accumulate(load(SEED))

    assert accumulator.texts() == [SEED_TEXT]
    assert accumulator.run_status == "completed"
    assert accumulator.usage == {
        "prompt_tokens": 1138,
        "completion_tokens": 11,
        "total_tokens": 1149,
    }
    assert accumulator.event_count == 21
    assert accumulator.done
    assert accumulator.thread is not None
    assert accumulator.thread["id"] == "thread_sSbvUX4J1FqlUZBv6BaBbOj4"
    assert [s["status"] for s in accumulator.steps] == ["completed"]
    assert accumulator.summary() == {
        "events": 21,
        "run_status": "completed",
        "messages": [SEED_TEXT],
        "usage": {"prompt_tokens": 1138, "completion_tokens": 11, "total_tokens": 1149},
    }


def test_the_seed_text_is_right_before_the_completed_message_arrives() -> None:
    events = load(SEED)
    completed = next(i for i, e in enumerate(events) if e.name == "thread.message.completed")

    accumulator = accumulate(events[:completed])

    assert accumulator.texts() == [SEED_TEXT]
    assert accumulator.run_status == "in_progress"
    assert accumulator.usage is None


@pytest.mark.parametrize("name", ASSISTANTS_RECORDINGS)
def test_a_recording_accumulates_to_its_expected_text_status_and_usage(name: str) -> None:
    want = expected(name)

    accumulator = accumulate(recording(name))

    assert "".join(accumulator.texts()) == want["final_text"]
    assert accumulator.run_status == want["final_status"]
    assert accumulator.usage == want["usage"]
    assert accumulator.event_count == want["event_count"]
    assert accumulator.done


@pytest.mark.parametrize("name", ASSISTANTS_RECORDINGS)
def test_a_recording_has_its_text_before_the_server_sends_the_whole_message(name: str) -> None:
    # Without the `completed` message object, the text is built from the deltas alone.
    events = [e for e in recording(name) if e.name != "thread.message.completed"]

    assert "".join(accumulate(events).texts()) == expected(name)["final_text"]


def test_a_stream_without_done_still_ends_with_its_run() -> None:
    accumulator = accumulate([e for e in load(SEED) if e.name != "done"])

    assert not accumulator.done
    assert accumulator.run_status == "completed"
    assert accumulator.texts() == [SEED_TEXT]
    assert accumulator.event_count == 20


def test_a_function_call_accumulates_its_name_and_arguments() -> None:
    want = expected("assistants-tool-call-1.sse")["function_calls"]

    accumulator = accumulate(recording("assistants-tool-call-1.sse"))

    (step,) = accumulator.steps
    assert step["type"] == "tool_calls"
    calls = [
        {"id": c["id"], "name": c["function"]["name"], "arguments": c["function"]["arguments"]}
        for c in tool_calls(step)
    ]
    assert (
        calls
        == want
        == [
            {
                "id": "call_xyFYaEeyocjyE6jN64QTcxip",
                "name": "get_current_weather",
                "arguments": "{}",
            }
        ]
    )
    assert accumulator.run_status == "requires_action"
    assert accumulator.run is not None
    required = accumulator.run["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert [c["id"] for c in required] == ["call_xyFYaEeyocjyE6jN64QTcxip"]
    assert accumulator.messages == []
    assert accumulator.usage is None


def test_the_submit_tool_outputs_stream_continues_the_same_run() -> None:
    accumulator = accumulate(recording("assistants-tool-call-1.sse"))
    run_id = accumulator.run["id"] if accumulator.run else None

    for event in recording("assistants-tool-call-2.sse"):
        accumulator.feed(event)

    assert accumulator.run is not None and accumulator.run["id"] == run_id
    assert accumulator.run_status == "completed"
    assert accumulator.texts() == [expected("assistants-tool-call-2.sse")["final_text"]]
    tool_step, message_step = accumulator.steps
    assert tool_step["status"] == "completed"
    assert message_step["type"] == "message_creation"
    # The server's completed step is authoritative: it carries the output we submitted.
    (call,) = tool_calls(tool_step)
    assert call["function"] == {
        "name": "get_current_weather",
        "arguments": "{}",
        "output": "warm and sunny",
    }
    assert tool_step["usage"]["total_tokens"] == 272


def test_a_continuation_alone_starts_from_the_completed_tool_step() -> None:
    accumulator = accumulate(recording("assistants-tool-call-2.sse"))

    assert [s["type"] for s in accumulator.steps] == ["tool_calls", "message_creation"]
    assert tool_calls(accumulator.steps[0])[0]["function"]["output"] == "warm and sunny"


def test_a_file_search_call_and_its_citation() -> None:
    accumulator = accumulate(recording("assistants-file-search.sse"))

    search_step = next(s for s in accumulator.steps if s["type"] == "tool_calls")
    (call,) = tool_calls(search_step)
    assert call["type"] == "file_search"
    assert call["file_search"]["ranking_options"]["ranker"] == "default_2024_08_21"
    (message,) = accumulator.messages
    (block,) = message["content"]
    (annotation,) = block["text"]["annotations"]
    assert annotation["type"] == "file_citation"
    assert annotation["file_citation"]["file_id"] == "file-CyHtsk7XAWdRabQUBYRjCu"
    assert (annotation["start_index"], annotation["end_index"]) == (29, 53)
    value = block["text"]["value"]
    assert value[29:53] == annotation["text"] == "【4:0†favorite_foods.txt】"


def test_a_citation_arriving_mid_text_lands_in_order_from_the_deltas_alone() -> None:
    events = [
        e for e in recording("assistants-file-search.sse") if e.name != "thread.message.completed"
    ]

    (message,) = accumulate(events).messages

    (block,) = message["content"]
    assert block["text"]["value"] == "Filip's favorite food is cake【4:0†favorite_foods.txt】."
    (annotation,) = block["text"]["annotations"]
    assert annotation["file_citation"]["file_id"] == "file-CyHtsk7XAWdRabQUBYRjCu"
