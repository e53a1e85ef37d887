"""The SSE layer reads the seed and the recordings the same in any chunking, in both forms."""

from __future__ import annotations

import json

import pytest
from sse_pairs import (
    RECORDED,
    RECORDINGS,
    SEED,
    Pairs,
    decode_in_chunks,
    split_by_blank_lines,
    to_standard_sse,
)

from assistants_proxy.sse import read_capture

# -- the seed --------------------------------------------------------------------------------


def test_the_flattened_seed_reads_as_21_events(seed_pairs: Pairs) -> None:
    names = [name for name, _ in seed_pairs]

    assert len(seed_pairs) == 21
    assert names[0] == "thread.created"
    assert names.count("thread.message.delta") == 9
    assert names[-2:] == ["thread.run.completed", "done"]
    assert seed_pairs[-1] == ("done", "")
    for name, data in seed_pairs[:-1]:
        assert isinstance(json.loads(data), dict), name


def test_the_seed_keeps_its_json_text_exactly(seed_pairs: Pairs) -> None:
    raw = SEED.read_text(encoding="utf-8")
    for _, data in seed_pairs[:-1]:
        assert data in raw
    created = json.loads(seed_pairs[1][1])
    assert "started_at " in created  # decoding leaves the upstream's quirks to the parser
    assert created["model"] == "gpt-4 o"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_the_seed_as_standard_sse_decodes_the_same_at_every_chunk_size(
    seed_pairs: Pairs, newline: str
) -> None:
    data = to_standard_sse(seed_pairs, newline)

    for size in range(1, len(data) + 1):
        assert decode_in_chunks(data, size) == seed_pairs, f"chunk size {size}"


# -- the recordings --------------------------------------------------------------------------


def test_the_recordings_are_all_here() -> None:
    assert {
        "assistants-file-search.sse",
        "assistants-streaming-run.sse",
        "assistants-tool-call-1.sse",
        "assistants-tool-call-2.sse",
    } <= set(RECORDINGS)
    assert "MIT License" in (RECORDED / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", RECORDINGS)
def test_a_recording_decodes_the_same_at_every_chunk_size(name: str) -> None:
    data = (RECORDED / name).read_bytes()
    expected = split_by_blank_lines(data.decode("utf-8"))
    sidecar = json.loads((RECORDED / name).with_suffix(".json").read_text(encoding="utf-8"))
    assert len(expected) == sidecar["expected"]["event_count"]

    for size in range(1, len(data) + 1):
        assert decode_in_chunks(data, size) == expected, f"chunk size {size}"


def test_a_long_recording_decodes_the_same_in_awkward_chunk_sizes() -> None:
    data = (RECORDED / "chat-completions-usage.sse").read_bytes()
    expected = split_by_blank_lines(data.decode("utf-8"))

    assert len(expected) == 716
    assert expected[-1] == ("message", "[DONE]")
    for size in (1, 2, 3, 7, 61, 509, 4096, len(data)):
        assert decode_in_chunks(data, size) == expected, f"chunk size {size}"


@pytest.mark.parametrize("name", RECORDINGS)
def test_read_capture_reads_a_standard_recording(name: str) -> None:
    text = (RECORDED / name).read_text(encoding="utf-8")

    assert [(e.event, e.data) for e in read_capture(text)] == split_by_blank_lines(text)
