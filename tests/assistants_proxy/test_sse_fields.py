"""The SSE layer's field rules: data lines, comments, ids, retries, and where an event ends."""

from __future__ import annotations

import pytest
from httpx_sse._decoders import SSEDecoder
from sse_pairs import RECORDED, Pairs, decode_chunks, decode_in_chunks

from assistants_proxy.sse import SSEStreamDecoder, read_capture

# -- fields ----------------------------------------------------------------------------------


def test_data_lines_join_with_a_line_feed() -> None:
    chunks = [b"event: a\ndata: first\ndata:second\ndata: \ndata:  third\n\n"]

    assert decode_chunks(chunks) == [("a", "first\nsecond\n\n third")]


def test_comment_lines_are_ignored() -> None:
    chunks = [b": keep-alive\n\n", b"event: a\n: in the middle\ndata: 1\n\n", b":\n\n"]

    assert decode_chunks(chunks) == [("a", "1")]


def test_a_block_with_only_retry_or_id_dispatches_nothing() -> None:
    chunks = [b"retry: 3000\n\n", b"id: 7\n\n", b"event: a\ndata: 1\n\n"]

    assert decode_chunks(chunks) == [("a", "1")]


def test_unknown_fields_are_ignored() -> None:
    assert decode_chunks([b"event: a\nfoo: bar\ndata: 1\n\n"]) == [("a", "1")]


def test_an_event_with_a_name_and_no_data_is_kept() -> None:
    # The seed ends with a bare `event: done`; dropping it would lose the end of the stream.
    assert decode_chunks([b"event: done\n\n"]) == [("done", "")]


def test_done_data_line_is_an_event() -> None:
    assert decode_chunks([b"event: done\ndata: [DONE]\n\n"]) == [("done", "[DONE]")]
    assert decode_chunks([b"data: [DONE]\n\n"]) == [("message", "[DONE]")]


@pytest.mark.parametrize(
    "tail", [b"\n\n", b"\r\r", b"\r\n\r\n", b"\n\r"], ids=["lf", "cr", "crlf", "mixed"]
)
def test_the_last_event_is_dispatched_by_its_blank_line_however_framed(tail: bytes) -> None:
    data = b"event: a\ndata: 1\n\nevent: thread.run.completed\ndata: {}" + tail

    for size in range(1, len(data) + 1):
        assert decode_in_chunks(data, size) == [("a", "1"), ("thread.run.completed", "{}")]


@pytest.mark.parametrize("tail", [b"", b"\n", b"\r", b"\r\n"], ids=["none", "lf", "cr", "crlf"])
def test_a_live_stream_ending_mid_event_drops_the_unfinished_event(tail: bytes) -> None:
    # A stream cut before the blank line may have lost the rest of the event's data lines:
    # passing the part off as the whole event would be worse than losing it.
    data = b'event: a\ndata: 1\n\nevent: b\ndata: {"half": ' + tail

    for size in range(1, len(data) + 1):
        assert decode_in_chunks(data, size) == [("a", "1")]


@pytest.mark.parametrize("tail", ["", "\n", "\r\n"], ids=["none", "lf", "crlf"])
def test_a_capture_file_without_a_final_blank_line_keeps_its_last_event(tail: str) -> None:
    text = "event: a\ndata: 1\n\nevent: done\ndata: [DONE]" + tail

    assert [(e.event, e.data) for e in read_capture(text)] == [("a", "1"), ("done", "[DONE]")]


def test_the_decoder_starts_afresh_after_a_flush() -> None:
    decoder = SSEStreamDecoder()
    decoder.feed(b"event: a\ndata: unfinished")
    assert decoder.flush() == []

    events = decoder.feed(b"event: b\ndata: 2\n\n")

    assert [(e.event, e.data) for e in events] == [("b", "2")]


def test_an_empty_stream_has_no_events() -> None:
    assert decode_chunks([]) == []
    assert decode_chunks([b"", b"\n\n", b""]) == []


# Fields with and without a space, bare names, comments, ids with NUL, bad retries, blocks
# with no data, and a last event never ended.
TRICKY = (
    "event: a\ndata: 1\n\ndata\ndata:\ndata:  two spaces\n\n: comment\n\nid: 7\n"
    "retry: 3000\n\nevent: b\nid: a\0b\nretry: soon\ndata: x\n\nDATA: not a field\n"
    "event:c\ndata:{}\n\nevent: done\n\nunknown: y\n\nid\ndata: after a bare id\n\n"
    "retry: 10\n\nevent: message\n\nevent: r\nretry: 2500\ndata: with retry\n\ndata: last"
)


def test_the_field_rules_are_httpx_sses(seed_pairs: Pairs) -> None:
    recorded = (RECORDED / "assistants-tool-call-1.sse").read_text("utf-8")
    lines = f"{TRICKY}\n\n{recorded}".split("\n")
    reference, ours = SSEDecoder(), SSEStreamDecoder()
    expected = []
    for line in lines:
        event = reference.decode(line)
        # httpx-sse also dispatches blocks with no data and no name; those are no events.
        if event is not None and (event.data or event.event != "message"):
            expected.append((event.event, event.data, event.id, event.retry))

    events = ours.feed("\n".join(lines).encode())

    assert [(e.event, e.data, e.id, e.retry) for e in events] == expected
    assert ("b", "x", "7", None) in expected and ("r", "with retry", "", 2500) in expected
