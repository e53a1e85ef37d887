"""Captures in the flattened one-line form read as events, or fail as protocol errors."""

from __future__ import annotations

import pytest

from assistants_proxy.errors import ProtocolError
from assistants_proxy.sse import read_capture

# -- the flattened one-line form --------------------------------------------------------------


def test_a_flattened_capture_may_contain_event_inside_its_json() -> None:
    text = (
        'event: thread.message.delta data: {"text": "event: fake data: {}"} '
        "event: done data: [DONE]"
    )

    assert [(e.event, e.data) for e in read_capture(text)] == [
        ("thread.message.delta", '{"text": "event: fake data: {}"}'),
        ("done", "[DONE]"),
    ]


def test_a_flattened_capture_ending_in_data_with_nothing_after_it() -> None:
    text = 'event: thread.run.completed data: {"a": 1} event: done data:'

    assert [(e.event, e.data) for e in read_capture(text)] == [
        ("thread.run.completed", '{"a": 1}'),
        ("done", ""),
    ]


def test_a_flattened_capture_with_a_bom_and_trailing_whitespace() -> None:
    text = '\ufeff  event: a data: {"x": [1, 2]}   event: b data: {}  \n'

    assert [(e.event, e.data) for e in read_capture(text)] == [
        ("a", '{"x": [1, 2]}'),
        ("b", "{}"),
    ]


def test_a_flattened_capture_with_broken_json_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="bad JSON"):
        read_capture('event: a data: {"x": 1 event: b data: {}')


def test_a_flattened_capture_with_junk_between_events_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="expected 'event:'"):
        read_capture('event: a data: {"x": 1} junk event: b data: {}')


def test_text_that_is_not_sse_has_no_events() -> None:
    assert read_capture("hello, world\nthis is not a stream\n") == []
