"""The accumulator's snapshots equal the official SDK's, after every event and at the end."""

from __future__ import annotations

import copy
from typing import Any, cast

import pytest
from accumulator_streams import ASSISTANTS_RECORDINGS, SEED, accumulate, load, recording, tool_calls
from openai import AssistantEventHandler
from openai._models import construct_type
from openai.types.beta import AssistantStreamEvent

from assistants_proxy.accumulator import RunAccumulator
from assistants_proxy.events import StreamEvent

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
