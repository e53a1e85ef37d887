"""The accumulator's merge rules for deltas: strings, numbers, lists and nulls."""

from __future__ import annotations

from typing import Any

from assistants_proxy.accumulator import merge_delta

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
