"""The SSE layer's line endings and characters survive any split between chunks."""

from __future__ import annotations

import json

import pytest
from sse_pairs import decode_chunks, decode_in_chunks

# -- line endings ----------------------------------------------------------------------------


def test_crlf_split_between_chunks_ends_one_line_not_two() -> None:
    # Were the CR and the LF counted as two line ends, the blank line would dispatch
    # `event: a` before its data arrived.
    chunks = [b"event: a\r", b"\ndata: {}\r", b"\n\r", b"\n"]

    assert decode_chunks(chunks) == [("a", "{}")]


def test_cr_alone_at_the_end_of_a_chunk_still_ends_the_line() -> None:
    chunks = [b"event: a\r", b"data: 1\r", b"\r", b"event: b\rdata: 2\r\r"]

    assert decode_chunks(chunks) == [("a", "1"), ("b", "2")]


def test_mixed_line_endings_in_one_stream() -> None:
    data = b"event: a\r\ndata: 1\n\revent: b\rdata: 2\r\n\r\n"

    for size in range(1, len(data) + 1):
        assert decode_in_chunks(data, size) == [("a", "1"), ("b", "2")]


# -- characters ------------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["é", "😀", "【", "†"])
def test_a_multibyte_character_split_across_chunks_survives(char: str) -> None:
    text = json.dumps({"value": f"a{char}b{char * 3}"}, ensure_ascii=False)
    data = f"event: thread.message.delta\ndata: {text}\n\n".encode()
    assert len(char.encode()) > 1

    for size in range(1, len(data) + 1):
        assert decode_in_chunks(data, size) == [("thread.message.delta", text)]


def test_each_split_point_inside_a_character_is_handled() -> None:
    data = "data: 😀\n\n".encode()
    start = data.index("😀".encode())

    for cut in range(start + 1, start + 4):
        assert decode_chunks([data[:cut], data[cut:]]) == [("message", "😀")]


def test_invalid_utf8_becomes_the_replacement_character() -> None:
    assert decode_chunks([b"data: a\xffb\n\n"]) == [("message", "a\ufffdb")]


def test_a_character_cut_short_becomes_one_replacement_character() -> None:
    assert decode_chunks([b"data: a\xf0\x9f", b"\n\n"]) == [("message", "a\ufffd")]
    assert decode_chunks([b"data: a\xf0", b"\x9f\n\n"]) == [("message", "a\ufffd")]


def test_a_leading_byte_order_mark_is_dropped() -> None:
    data = b"\xef\xbb\xbfevent: a\ndata: 1\n\n"

    for size in range(1, len(data) + 1):
        assert decode_in_chunks(data, size) == [("a", "1")]


def test_a_byte_order_mark_after_the_start_is_data() -> None:
    assert decode_chunks([b"data: \xef\xbb\xbfx\n\n"]) == [("message", "\ufeffx")]
