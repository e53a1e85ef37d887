"""Event parsing: one type per event name, and tolerance for servers that deviate."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from assistants_proxy import events as ev
from assistants_proxy.errors import MalformedEventError, ProtocolError
from assistants_proxy.sse import read_capture

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEED = FIXTURES / "seed-capture.txt"
RECORDED = FIXTURES / "openai-recorded"

EVENT_NAMES = {
    "thread.created": ev.ThreadCreated,
    "thread.run.created": ev.RunCreated,
    "thread.run.queued": ev.RunQueued,
    "thread.run.in_progress": ev.RunInProgress,
    "thread.run.requires_action": ev.RunRequiresAction,
    "thread.run.completed": ev.RunCompleted,
    "thread.run.incomplete": ev.RunIncomplete,
    "thread.run.failed": ev.RunFailed,
    "thread.run.cancelling": ev.RunCancelling,
    "thread.run.cancelled": ev.RunCancelled,
    "thread.run.expired": ev.RunExpired,
    "thread.run.step.created": ev.RunStepCreated,
    "thread.run.step.in_progress": ev.RunStepInProgress,
    "thread.run.step.delta": ev.RunStepDelta,
    "thread.run.step.completed": ev.RunStepCompleted,
    "thread.run.step.failed": ev.RunStepFailed,
    "thread.run.step.cancelled": ev.RunStepCancelled,
    "thread.run.step.expired": ev.RunStepExpired,
    "thread.message.created": ev.MessageCreated,
    "thread.message.in_progress": ev.MessageInProgress,
    "thread.message.delta": ev.MessageDelta,
    "thread.message.completed": ev.MessageCompleted,
    "thread.message.incomplete": ev.MessageIncomplete,
    "error": ev.ErrorEvent,
    "done": ev.DoneEvent,
}


def seed_events() -> list[ev.StreamEvent]:
    return [ev.parse_event(s.event, s.data) for s in read_capture(SEED.read_text("utf-8"))]


# -- one type per name -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EVENT_NAMES))
def test_every_event_name_maps_to_its_type(name: str) -> None:
    event = ev.parse_event(name, '{"id": "x_1", "status": "in_progress"}')

    assert type(event) is EVENT_NAMES[name]
    assert event.name == name
    assert event.data == {"id": "x_1", "status": "in_progress"}
    assert event.to_dict() == {"event": name, "data": event.data}


def test_the_library_knows_exactly_the_assistants_v2_events() -> None:
    assert {name: cls for name, cls in ev.EVENT_TYPES.items()} == EVENT_NAMES


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("thread.created", ev.ThreadEvent),
        ("thread.run.requires_action", ev.RunEvent),
        ("thread.run.step.created", ev.RunStepEvent),
        ("thread.run.step.delta", ev.RunStepDeltaEvent),
        ("thread.message.completed", ev.MessageEvent),
        ("thread.message.delta", ev.MessageDeltaEvent),
    ],
)
def test_each_event_belongs_to_the_family_of_its_object(name: str, family: type) -> None:
    assert isinstance(ev.parse_event(name, "{}"), family)


def test_stream_end_events_include_requires_action_and_every_terminal_run_status() -> None:
    assert "thread.run.requires_action" in ev.STREAM_END_EVENTS
    assert "thread.run.requires_action" not in ev.TERMINAL_RUN_EVENTS
    terminal = {"completed", "incomplete", "failed", "cancelled", "expired"}
    assert {f"thread.run.{status}" for status in terminal} == ev.TERMINAL_RUN_EVENTS


def test_the_seed_parses_to_typed_events() -> None:
    events = seed_events()

    assert len(events) == 21
    assert [type(e) for e in events[:4]] == [
        ev.ThreadCreated,
        ev.RunCreated,
        ev.RunQueued,
        ev.RunInProgress,
    ]
    assert sum(isinstance(e, ev.MessageDelta) for e in events) == 9
    assert isinstance(events[-2], ev.RunCompleted)
    assert isinstance(events[-1], ev.DoneEvent)
    assert events[-1].data == {}


@pytest.mark.parametrize("path", sorted(RECORDED.glob("assistants-*.sse")), ids=lambda p: p.name)
def test_every_recorded_event_is_known(path: Path) -> None:
    events = [ev.parse_event(s.event, s.data) for s in read_capture(path.read_text("utf-8"))]
    sidecar = json.loads(path.with_suffix(".json").read_text("utf-8"))

    assert not [e for e in events if isinstance(e, ev.UnknownEvent)]
    counts: dict[str, int] = {}
    for event in events:
        counts[event.name] = counts.get(event.name, 0) + 1
    assert counts == sidecar["expected"]["event_names"]


# -- tolerance -------------------------------------------------------------------------------


def test_keys_with_stray_whitespace_are_normalised() -> None:
    created = seed_events()[1]

    assert "started_at" in created.data and created.data["started_at"] is None
    assert created.data["expires_at"] == 1720104998
    assert not [key for key in created.data if key != key.strip()]
    assert created.data["model"] == "gpt-4 o"  # values are the upstream's, as sent


@pytest.mark.parametrize(
    "data",
    [
        '{"id": "run_1", "started_at ": 5}',
        '{" started_at": 5, "id": "run_1"}',
        '{"id":"run_1"," started_at":5}',
        '{"id":"run_1","started_at\\t":5}',
        '{\n  "id": "run_1",\n  "started_at " : 5\n}',
        '{"id":"run_1","started_at\\n":5}',
    ],
)
def test_keys_with_whitespace_on_either_side_are_normalised(data: str) -> None:
    event = ev.parse_event("thread.run.created", data)

    assert event.data == {"id": "run_1", "started_at": 5}


def test_keys_are_normalised_at_every_depth() -> None:
    event = ev.parse_event(
        "thread.run.created", '{"usage ": {" total_tokens ": 3}, "x": [{"k ": 1}]}'
    )

    assert event.data == {"usage": {"total_tokens": 3}, "x": [{"k": 1}]}


def test_whitespace_inside_values_is_left_alone() -> None:
    data = '{"delta": {"content": [{"index": 0, "text": {"value": " How ", "annotations": []}}]}}'

    event = ev.parse_event("thread.message.delta", data)

    assert event.data["delta"]["content"][0]["text"]["value"] == " How "


def test_unknown_fields_are_kept() -> None:
    event = ev.parse_event("thread.run.completed", '{"id": "run_1", "x_vendor": {"a": [1]}}')

    assert event.data == {"id": "run_1", "x_vendor": {"a": [1]}}


def test_the_raw_text_is_kept_when_it_stands_for_the_data() -> None:
    data = '{"id":"msg_1","object":"thread.message.delta","delta":{"content":[]}}'

    event = ev.parse_event("thread.message.delta", data)

    assert event.raw == data
    assert json.loads(event.raw) == event.data


@pytest.mark.parametrize(
    "data",
    [
        '{"id": "run_1", "started_at ": 5}',  # a key normalised: the text says otherwise
        "",  # blank data stands for {} without being its text
        "   ",
    ],
)
def test_no_raw_text_when_the_data_differs_from_it(data: str) -> None:
    assert ev.parse_event("thread.run.created", data).raw is None


def test_no_raw_text_for_an_unwrapped_envelope() -> None:
    data = '{"event": "thread.run.created", "data": {"id": "run_1"}}'

    event = ev.parse_event(None, data)

    assert event.data == {"id": "run_1"} and event.raw is None


def test_a_bare_object_keeps_its_raw_text() -> None:
    data = '{"id": "msg_1", "object": "thread.message.delta", "delta": {"content": []}}'

    assert ev.parse_event(None, data).raw == data


def test_whitespace_in_values_that_looks_like_a_key_keeps_the_raw_text() -> None:
    data = '{"delta": {"content": [{"text": {"value": "a \\" b"}}]}}'

    event = ev.parse_event("thread.message.delta", data)

    assert event.raw == data


def test_an_unknown_event_name_is_kept_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="assistants_proxy.events"):
        event = ev.parse_event("thread.run.step.thinking", '{"id": "step_1"}')

    assert isinstance(event, ev.UnknownEvent)
    assert event.name == "thread.run.step.thinking"
    assert event.data == {"id": "step_1"}
    assert event.to_dict() == {"event": "thread.run.step.thinking", "data": {"id": "step_1"}}
    assert [r.getMessage() for r in caplog.records] == [
        "unknown Assistants stream event 'thread.run.step.thinking' kept as UnknownEvent"
    ]


def test_an_unknown_event_name_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="assistants_proxy.events"):
        for _ in range(3):
            ev.parse_event("vendor.heartbeat", "{}")

    assert len(caplog.records) == 1


def test_surrounding_whitespace_in_the_event_name_is_ignored() -> None:
    assert isinstance(ev.parse_event(" thread.run.completed ", "{}"), ev.RunCompleted)


# -- names inside the JSON -------------------------------------------------------------------


def test_an_envelope_without_an_event_line_is_unwrapped() -> None:
    data = '{"event": "thread.message.delta", "data": {"id": "msg_1", "delta": {}}}'

    for name in (None, "", "message"):
        event = ev.parse_event(name, data)
        assert isinstance(event, ev.MessageDelta)
        assert event.data == {"id": "msg_1", "delta": {}}


def test_an_envelope_for_done_without_data_is_the_end() -> None:
    assert isinstance(ev.parse_event(None, '{"event": "done", "data": "[DONE]"}'), ev.DoneEvent)
    assert isinstance(ev.parse_event(None, '{"event": "done"}'), ev.DoneEvent)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"id": "thread_1", "object": "thread"}, ev.ThreadCreated),
        ({"object": "thread.run", "status": "queued"}, ev.RunQueued),
        ({"object": "thread.run", "status": "requires_action"}, ev.RunRequiresAction),
        ({"object": "thread.run", "status": "completed"}, ev.RunCompleted),
        ({"object": "thread.run.step", "status": "in_progress"}, ev.RunStepInProgress),
        ({"object": "thread.run.step", "status": "completed"}, ev.RunStepCompleted),
        ({"object": "thread.run.step.delta", "delta": {}}, ev.RunStepDelta),
        ({"object": "thread.message", "status": "in_progress"}, ev.MessageInProgress),
        ({"object": "thread.message", "status": "incomplete"}, ev.MessageIncomplete),
        ({"object": "thread.message.delta", "delta": {}}, ev.MessageDelta),
        ({"error": {"message": "boom"}}, ev.ErrorEvent),
    ],
)
def test_a_bare_object_is_named_by_its_object_and_status(
    payload: dict[str, object], expected: type
) -> None:
    event = ev.parse_event(None, json.dumps(payload))

    assert type(event) is expected
    assert event.data == payload


def test_a_bare_object_nobody_knows_is_an_unknown_event(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="assistants_proxy.events"):
        event = ev.parse_event(None, '{"object": "vector_store.file", "id": "vsf_1"}')

    assert isinstance(event, ev.UnknownEvent)
    assert event.name == "vector_store.file"
    assert caplog.records


def test_data_done_without_an_event_line_is_the_end() -> None:
    assert isinstance(ev.parse_event(None, "[DONE]"), ev.DoneEvent)
    assert isinstance(ev.parse_event("message", " [DONE] "), ev.DoneEvent)
    assert isinstance(ev.parse_event("done", ""), ev.DoneEvent)
    assert isinstance(ev.parse_event("done", "[DONE]"), ev.DoneEvent)


# -- malformed data --------------------------------------------------------------------------


@pytest.mark.parametrize("data", ['{"id": "msg_1", "delta": ', "not json", "{'a': 1}", "NaN]"])
def test_data_that_is_not_json_is_a_malformed_event(data: str) -> None:
    with pytest.raises(MalformedEventError, match="not JSON") as caught:
        ev.parse_event("thread.message.delta", data)

    assert caught.value.event == "thread.message.delta"
    assert caught.value.raw == data
    assert isinstance(caught.value, ProtocolError)
    assert not caught.value.retryable


@pytest.mark.parametrize("data", ["[1, 2]", '"text"', "42", "null", "true"])
def test_data_that_is_not_an_object_is_a_malformed_event(data: str) -> None:
    with pytest.raises(MalformedEventError, match="not a JSON object"):
        ev.parse_event("thread.run.completed", data)


def test_a_stream_without_done_still_parses_to_its_end() -> None:
    events = [e for e in seed_events() if not isinstance(e, ev.DoneEvent)]
    text = "".join(f"event: {e.name}\ndata: {json.dumps(e.data)}\n\n" for e in events)

    parsed = [ev.parse_event(s.event, s.data) for s in read_capture(text)]

    assert [e.name for e in parsed] == [e.name for e in events]
    assert parsed[-1].name in ev.TERMINAL_RUN_EVENTS
    assert not [e for e in parsed if isinstance(e, ev.DoneEvent)]
