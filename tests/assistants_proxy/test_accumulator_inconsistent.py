"""The accumulator copes with inconsistent servers and with very long replies."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from accumulator_streams import SEED, SEED_TEXT, accumulate, load, recording, tool_calls

from assistants_proxy.accumulator import RunAccumulator, message_text
from assistants_proxy.events import (
    MessageCompleted,
    MessageCreated,
    MessageDelta,
    RunStepCreated,
    RunStepDelta,
    StreamEvent,
    make_event,
)

# -- inconsistent servers --------------------------------------------------------------------


def seed_with(rewrite: Any) -> list[StreamEvent]:
    """The seed with each text delta rewritten; `rewrite(number, data)` edits a copy."""
    events, number = [], 0
    for event in load(SEED):
        if isinstance(event, MessageDelta):
            data = copy.deepcopy(event.data)
            rewrite(number, data)
            event = MessageDelta(data)
            number += 1
        events.append(event)
    return events


def parts(data: dict[str, Any]) -> list[dict[str, Any]]:
    return list(data["delta"]["content"])


def without_completed(events: list[StreamEvent]) -> list[StreamEvent]:
    return [e for e in events if e.name != "thread.message.completed"]


def test_a_new_message_id_per_token_still_builds_one_message() -> None:
    def new_id(number: int, data: dict[str, Any]) -> None:
        data["id"] = f"msg_token_{number}"

    accumulator = accumulate(without_completed(seed_with(new_id)))

    assert accumulator.texts() == [SEED_TEXT]
    assert accumulator.messages[0]["id"] == "msg_zKgPBqNcqb7qYP2bBA3tVyTd"


def test_a_delta_without_an_index_appends_in_arrival_order() -> None:
    def drop_index(_: int, data: dict[str, Any]) -> None:
        for part in parts(data):
            del part["index"]

    accumulator = accumulate(without_completed(seed_with(drop_index)))

    assert accumulator.texts() == [SEED_TEXT]


@pytest.mark.parametrize("index", [7, 1000, -1, "0", None, 0.0])
def test_an_unusable_index_appends_in_arrival_order(index: Any) -> None:
    def bad_index(number: int, data: dict[str, Any]) -> None:
        if number == 4:
            for part in parts(data):
                part["index"] = index

    accumulator = accumulate(without_completed(seed_with(bad_index)))

    assert accumulator.texts() == [SEED_TEXT]


def test_an_index_past_the_end_on_every_token_still_reads_right() -> None:
    def far(number: int, data: dict[str, Any]) -> None:
        for part in parts(data):
            part["index"] = 50 + number

    accumulator = accumulate(without_completed(seed_with(far)))

    assert accumulator.texts() == [SEED_TEXT]


def test_deltas_before_any_created_message_start_one() -> None:
    events = [e for e in without_completed(load(SEED)) if e.name != "thread.message.created"]

    accumulator = accumulate(events)

    assert accumulator.texts() == [SEED_TEXT]
    assert accumulator.messages[0]["role"] == "assistant"


def test_a_completed_message_with_no_content_keeps_the_streamed_text() -> None:
    events = load(SEED)
    completed = next(e for e in events if isinstance(e, MessageCompleted))
    completed.data["content"] = []

    assert accumulate(events).texts() == [SEED_TEXT]


def test_a_step_delta_before_its_step_was_created_starts_one() -> None:
    delta = recording("assistants-tool-call-1.sse")
    only_deltas = [e for e in delta if isinstance(e, RunStepDelta)]

    accumulator = accumulate(only_deltas)

    (step,) = accumulator.steps
    assert tool_calls(step)[0]["function"] == {
        "name": "get_current_weather",
        "arguments": "{}",
        "output": None,
    }


def test_two_messages_keep_their_own_text() -> None:
    accumulator = RunAccumulator()
    for message_id, words in (("msg_a", ["Hel", "lo"]), ("msg_b", ["Wor", "ld"])):
        accumulator.feed(MessageCreated({"id": message_id, "content": [], "role": "assistant"}))
        for word in words:
            accumulator.feed(MessageDelta(text_delta(word, message_id=message_id)))
    accumulator.feed(MessageDelta(text_delta("!", message_id="msg_a")))

    assert accumulator.texts() == ["Hello!", "World"]


def test_reading_a_snapshot_mid_stream_does_not_disturb_the_text() -> None:
    accumulator = RunAccumulator()
    accumulator.feed(MessageCreated({"id": "msg_1", "content": []}))
    seen = []
    for word in ["a", "b", "c", "d"]:
        accumulator.feed(MessageDelta(text_delta(word)))
        seen.append(accumulator.texts()[0])
        seen.append(message_text(accumulator.message("msg_1") or {}))

    assert seen == ["a", "a", "ab", "ab", "abc", "abc", "abcd", "abcd"]
    assert accumulator.texts() == ["abcd"]


def test_several_text_blocks_and_an_image_block() -> None:
    accumulator = RunAccumulator()
    accumulator.feed(MessageCreated({"id": "msg_1", "content": []}))
    accumulator.feed(MessageDelta(text_delta("one ", index=0)))
    image = {"index": 1, "type": "image_file", "image_file": {"file_id": "file-1"}}
    accumulator.feed(MessageDelta({"id": "msg_1", "delta": {"content": [image]}}))
    accumulator.feed(MessageDelta(text_delta("two", index=2)))
    accumulator.feed(MessageDelta(text_delta("more", index=0)))

    (message,) = accumulator.messages
    assert [b["type"] for b in message["content"]] == ["text", "image_file", "text"]
    assert message["content"][1]["image_file"] == {"file_id": "file-1"}
    assert accumulator.texts() == ["one moretwo"]


def test_error_events_are_collected_and_unknown_events_counted() -> None:
    accumulator = RunAccumulator()
    accumulator.feed(make_event("error", {"error": {"message": "server_error"}}))
    accumulator.feed(make_event("vendor.ping", {}))

    assert accumulator.errors == [{"error": {"message": "server_error"}}]
    assert accumulator.event_count == 2
    assert accumulator.run is None and accumulator.run_status is None and accumulator.usage is None


def test_a_step_created_twice_keeps_its_tool_calls() -> None:
    events = recording("assistants-tool-call-1.sse")
    created = next(e for e in events if isinstance(e, RunStepCreated))
    accumulator = accumulate(events)

    accumulator.feed(make_event("thread.run.step.in_progress", created.data))

    assert tool_calls(accumulator.steps[0])[0]["function"]["arguments"] == "{}"


# -- long replies ----------------------------------------------------------------------------


def text_delta(value: str, *, message_id: str = "msg_1", index: int = 0) -> dict[str, Any]:
    return {
        "id": message_id,
        "object": "thread.message.delta",
        "delta": {"content": [{"index": index, "type": "text", "text": {"value": value}}]},
    }


def test_a_hundred_thousand_deltas_accumulate_to_the_whole_text() -> None:
    # The speed check is `python -m bench.decode`; this checks the long path is right and
    # finishes (a quadratic accumulator would take minutes here, beyond the test timeout).
    tokens = [f"w{n} " for n in range(100_000)]
    accumulator = RunAccumulator()
    accumulator.feed(MessageCreated({"id": "msg_1", "content": []}))

    for token in tokens:
        accumulator.feed(MessageDelta(text_delta(token)))

    assert accumulator.texts() == ["".join(tokens)]
    assert accumulator.event_count == 100_001
