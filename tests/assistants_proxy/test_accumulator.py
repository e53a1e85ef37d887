"""The accumulator folds a stream into run, step and message snapshots, as the SDK would."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from openai import AssistantEventHandler
from openai._models import construct_type
from openai.types.beta import AssistantStreamEvent

from assistants_proxy.accumulator import RunAccumulator, merge_delta, message_text
from assistants_proxy.events import (
    MessageCompleted,
    MessageCreated,
    MessageDelta,
    RunStepCreated,
    RunStepDelta,
    StreamEvent,
    make_event,
    parse_event,
)
from assistants_proxy.sse import read_capture

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEED = FIXTURES / "seed-capture.txt"
RECORDED = FIXTURES / "openai-recorded"
ASSISTANTS_RECORDINGS = sorted(p.name for p in RECORDED.glob("assistants-*.sse"))
SEED_TEXT = "Hello! How can I assist you today?"


def load(path: Path) -> list[StreamEvent]:
    return [parse_event(s.event, s.data) for s in read_capture(path.read_text("utf-8"))]


def recording(name: str) -> list[StreamEvent]:
    return load(RECORDED / name)


def expected(name: str) -> dict[str, Any]:
    sidecar = RECORDED / name.replace(".sse", ".json")
    return dict(json.loads(sidecar.read_text("utf-8"))["expected"])


def accumulate(events: Sequence[StreamEvent]) -> RunAccumulator:
    accumulator = RunAccumulator()
    for event in events:
        accumulator.feed(event)
    return accumulator


def tool_calls(step: dict[str, Any]) -> list[dict[str, Any]]:
    return list((step.get("step_details") or {}).get("tool_calls") or [])


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


# -- equality with the official SDK ----------------------------------------------------------


class SDKReplay:
    """The official `openai` SDK's `AssistantEventHandler`, fed the same events."""

    def __init__(self) -> None:
        self.handler = AssistantEventHandler()
        self.events: list[Any] = []

    def feed(self, event: StreamEvent) -> None:
        if event.name == "done":  # the SDK's stream drops `done` before its handler sees it
            return
        value = {"event": event.name, "data": copy.deepcopy(event.data)}
        sdk_event = cast(
            AssistantStreamEvent, construct_type(type_=AssistantStreamEvent, value=value)
        )
        self.events.append(sdk_event)
        self.handler._emit_sse_event(sdk_event)

    @property
    def message(self) -> dict[str, Any] | None:
        snapshot = self.handler.current_message_snapshot
        return None if snapshot is None else dump(snapshot)

    @property
    def run(self) -> dict[str, Any] | None:
        return None if self.handler.current_run is None else dump(self.handler.current_run)

    @property
    def step(self) -> dict[str, Any] | None:
        snapshot = self.handler.current_run_step_snapshot
        return None if snapshot is None else dump(snapshot)

    def final(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The SDK's final messages and steps, read through its public API."""
        handler = AssistantEventHandler()
        handler._init(self.events)  # type: ignore[arg-type]  # any iterable of events will do
        messages = handler.get_final_messages() if self.has_messages else []
        return [dump(m) for m in messages], [dump(s) for s in handler.get_final_run_steps()]

    @property
    def has_messages(self) -> bool:
        return any(e.event == "thread.message.created" for e in self.events)


def dump(model: Any) -> dict[str, Any]:
    # `exclude_unset`: the SDK's models fill every optional field the server left out with
    # None; the accumulator keeps what the server sent. Both are checked below.
    return dict(model.model_dump(exclude_unset=True))


def assert_same_as_sdk_model(ours: dict[str, Any], sdk: Any) -> None:
    """Our snapshot read through the SDK's model dumps exactly as the SDK's own snapshot."""
    rebuilt = cast(Any, construct_type(type_=type(sdk), value=copy.deepcopy(ours)))
    assert rebuilt.model_dump() == sdk.model_dump()


def streams() -> list[tuple[str, list[StreamEvent]]]:
    cases = [("seed", load(SEED))]
    cases += [(name, recording(name)) for name in ASSISTANTS_RECORDINGS]
    both = recording("assistants-tool-call-1.sse") + recording("assistants-tool-call-2.sse")
    cases.append(("tool-call-1+2", both))
    return cases


STREAMS = streams()
STEP_DONE = ("thread.run.step.completed", "thread.run.step.failed", "thread.run.step.cancelled")


@pytest.mark.parametrize(("label", "events"), STREAMS, ids=[label for label, _ in STREAMS])
def test_snapshots_equal_the_sdks_after_every_event(label: str, events: list[StreamEvent]) -> None:
    ours, sdk = RunAccumulator(), SDKReplay()
    completed_steps: set[str] = set()

    for number, event in enumerate(events):
        ours.feed(event)
        sdk.feed(event)
        where = f"{label}, event {number} ({event.name})"
        if sdk.message is not None:
            assert ours.message(sdk.message["id"]) == sdk.message, where
        assert ours.run == sdk.run, where
        if event.name in STEP_DONE:
            completed_steps.add(event.data["id"])
        if sdk.step is not None and sdk.step["id"] not in completed_steps:
            our_step = next(s for s in ours.steps if s["id"] == sdk.step["id"])
            assert tool_calls(our_step) == tool_calls(sdk.step), where


@pytest.mark.parametrize(("label", "events"), STREAMS, ids=[label for label, _ in STREAMS])
def test_final_snapshots_equal_the_sdks(label: str, events: list[StreamEvent]) -> None:
    ours, sdk = accumulate(events), SDKReplay()
    for event in events:
        sdk.feed(event)

    sdk_messages, sdk_steps = sdk.final()

    assert [{"id": m["id"], "content": m["content"]} for m in ours.messages] == [
        {"id": m["id"], "content": m["content"]} for m in sdk_messages
    ]
    assert ours.messages == sdk_messages
    assert ours.run == sdk.run
    assert sdk.handler.current_run is not None and ours.run is not None
    assert_same_as_sdk_model(ours.run, sdk.handler.current_run)
    for sdk_step in sdk_steps:
        our_step = next(s for s in ours.steps if s["id"] == sdk_step["id"])
        # The SDK keeps a step as its deltas built it. We take the server's completed object
        # when it has the tool calls, since it adds the outputs and file-search results.
        final = completed_step(events, sdk_step["id"])
        want = tool_calls(final) if tool_calls(final) else tool_calls(sdk_step)
        assert tool_calls(our_step) == want
        assert [c["id"] for c in tool_calls(our_step)] == [c["id"] for c in tool_calls(sdk_step)]


def test_tool_calls_built_from_deltas_equal_the_sdks_for_every_recording() -> None:
    for label, events in STREAMS:
        streaming = [e for e in events if e.name != "thread.run.step.completed"]
        ours, sdk = accumulate(streaming), SDKReplay()
        for event in streaming:
            sdk.feed(event)
        _, sdk_steps = sdk.final()
        for sdk_step in sdk_steps:
            our_step = next(s for s in ours.steps if s["id"] == sdk_step["id"])
            assert tool_calls(our_step) == tool_calls(sdk_step), label
            assert our_step["step_details"]["type"] == sdk_step["step_details"]["type"], label


def completed_step(events: list[StreamEvent], step_id: str) -> dict[str, Any]:
    objects = [e.data for e in events if e.name in STEP_DONE and e.data.get("id") == step_id]
    return objects[-1] if objects else {}


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


# -- the merge rules -------------------------------------------------------------------------


def test_merge_delta_concatenates_strings_and_adds_numbers() -> None:
    acc = {"text": "ab", "n": 1, "f": 0.5}

    assert merge_delta(acc, {"text": "c", "n": 2, "f": 0.25, "new": "x"}) == {
        "text": "abc",
        "n": 3,
        "f": 0.75,
        "new": "x",
    }


def test_merge_delta_replaces_index_type_and_booleans() -> None:
    acc = {"index": 0, "type": "text", "flag": True}

    assert merge_delta(acc, {"index": 0, "type": "text", "flag": False}) == {
        "index": 0,
        "type": "text",
        "flag": False,
    }


def test_merge_delta_merges_lists_of_dicts_by_index() -> None:
    acc: dict[str, Any] = {}
    merge_delta(acc, {"calls": [{"index": 0, "id": "a", "args": "{"}]})
    merge_delta(acc, {"calls": [{"index": 0, "args": "}"}, {"index": 1, "id": "b", "args": ""}]})
    merge_delta(acc, {"calls": [{"index": 1, "args": "[]"}]})

    assert acc == {
        "calls": [
            {"index": 0, "id": "a", "args": "{}"},
            {"index": 1, "id": "b", "args": "[]"},
        ]
    }


def test_merge_delta_appends_scalar_lists_and_entries_without_an_index() -> None:
    acc: dict[str, Any] = {"tags": ["a"], "calls": [{"index": 0, "x": "1"}]}

    merge_delta(acc, {"tags": ["b"], "calls": [{"x": "2"}, {"index": 9, "x": "3"}]})

    assert acc == {
        "tags": ["a", "b"],
        "calls": [{"index": 0, "x": "1"}, {"x": "2"}, {"index": 9, "x": "3"}],
    }


def test_merge_delta_fills_values_that_were_null() -> None:
    acc = {"output": None, "nested": {"a": None}}

    assert merge_delta(acc, {"output": "sunny", "nested": {"a": 1}}) == {
        "output": "sunny",
        "nested": {"a": 1},
    }
