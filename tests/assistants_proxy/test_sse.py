"""The SSE layer: bytes in any chunking give the same events; captures in both forms read."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from httpx_sse._decoders import SSEDecoder

from assistants_proxy.errors import ProtocolError
from assistants_proxy.sse import (
    SSEBody,
    SSEStreamDecoder,
    aiter_sse,
    iter_sse_bytes,
    read_capture,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEED = FIXTURES / "seed-capture.txt"
RECORDED = FIXTURES / "openai-recorded"
RECORDINGS = sorted(p.name for p in RECORDED.glob("*.sse") if p.stat().st_size < 20_000)

Pairs = list[tuple[str, str]]


def decode_in_chunks(data: bytes, size: int) -> Pairs:
    decoder = SSEStreamDecoder()
    events = []
    for start in range(0, len(data), size):
        events += decoder.feed(data[start : start + size])
    events += decoder.flush()
    return [(e.event, e.data) for e in events]


def decode_chunks(chunks: Iterable[bytes]) -> Pairs:
    return [(e.event, e.data) for e in iter_sse_bytes(chunks)]


def to_standard_sse(pairs: Pairs, newline: str = "\n") -> bytes:
    """Write events as `event:` / `data:` lines and a blank line, as a server would."""
    blocks = []
    for name, data in pairs:
        lines = [f"event: {name}"] + [f"data: {line}" for line in data.split("\n") if data]
        blocks.append(newline.join(lines) + newline + newline)
    return "".join(blocks).encode()


def split_by_blank_lines(text: str) -> Pairs:
    """An independent reading of LF-framed SSE text (one `event:`, `data:` lines per block)."""
    pairs = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name, data = "message", []
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        pairs.append((name, "\n".join(data)))
    return pairs


@pytest.fixture(scope="module")
def seed_pairs() -> Pairs:
    return [(e.event, e.data) for e in read_capture(SEED.read_text(encoding="utf-8"))]


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


# -- live responses --------------------------------------------------------------------------


def _client_for(chunks: list[bytes], content_type: str) -> httpx.AsyncClient:
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": content_type}, content=body())

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_aiter_sse_decodes_a_response_as_its_bytes_arrive(seed_pairs: Pairs) -> None:
    data = to_standard_sse(seed_pairs, "\r\n")
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]

    async with (
        _client_for(chunks, "text/event-stream; charset=utf-8") as http,
        http.stream("POST", "http://upstream.test/v1/threads/runs") as response,
    ):
        pairs = [(e.event, e.data) async for e in aiter_sse(response)]

    assert pairs == seed_pairs


async def test_aiter_sse_accepts_the_content_type_in_any_case() -> None:
    async with (
        _client_for([b"data: 1\n\n"], "Text/Event-Stream") as http,
        http.stream("GET", "http://upstream.test/") as response,
    ):
        assert [e.data async for e in aiter_sse(response)] == ["1"]


async def test_aiter_sse_refuses_a_response_that_is_not_an_event_stream() -> None:
    async with (
        _client_for([b'{"error": {"message": "nope"}}'], "application/json") as http,
        http.stream("GET", "http://upstream.test/") as response,
    ):
        with pytest.raises(ProtocolError, match="application/json"):
            [e async for e in aiter_sse(response)]


# -- SSEBody: the end of a body after its last event, over a real socket ---------------------

_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
         b"transfer-encoding: chunked\r\n\r\n")  # fmt: skip


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@asynccontextmanager
async def _server(after_last_event: bytes) -> AsyncIterator[tuple[int, list[int]]]:
    """Answers every request on a connection with one event, then `after_last_event`; counts
    the connections it accepts."""
    accepted: list[int] = []
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        accepted.append(1)
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(_HEAD + _chunk(b"event: thread.run.completed\ndata: {}\n\n"))
                await writer.drain()
                writer.write(after_last_event)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield srv.sockets[0].getsockname()[1], accepted
    finally:
        srv.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _read_first_event_then_release(
    http: httpx.AsyncClient, port: int, finished: bool
) -> None:
    request = http.build_request("GET", f"http://127.0.0.1:{port}/")
    body = SSEBody(await http.send(request, stream=True))
    async for event in body.events():
        assert event.event == "thread.run.completed"
        break
    await body.release(finished=finished)
    assert body.response.is_closed


@pytest.mark.parametrize(
    ("finished", "connections"),
    [(True, 1), (False, 3)],
    ids=["read-to-its-last-event-gives-its-connection-back", "released-unfinished-closes-it"],
)
async def test_a_body_released_keeps_its_connection_only_when_finished(
    finished: bool, connections: int
) -> None:
    end = _chunk(b"event: done\ndata: [DONE]\n\n") + b"0\r\n\r\n"
    async with _server(end) as (port, accepted), httpx.AsyncClient() as http:
        for _ in range(3):
            await _read_first_event_then_release(http, port, finished=finished)
    assert len(accepted) == connections


async def test_a_body_that_does_not_end_after_its_last_event_is_closed_within_the_budget() -> None:
    async with _server(b"") as (port, accepted), httpx.AsyncClient() as http:
        started = asyncio.get_running_loop().time()
        await _read_first_event_then_release(http, port, finished=True)
        waited = asyncio.get_running_loop().time() - started
        await _read_first_event_then_release(http, port, finished=True)
    assert len(accepted) == 2  # the first connection was not reused with its body unread
    assert waited < SSEBody.DRAIN_SECONDS + 2.0


async def test_a_body_that_goes_on_with_more_events_is_closed_not_read_to_the_end() -> None:
    endless = _chunk(b"event: ping\ndata: {}\n\n") * (SSEBody.DRAIN_EVENTS + 5)
    async with _server(endless) as (port, accepted), httpx.AsyncClient() as http:
        await _read_first_event_then_release(http, port, finished=True)
        await _read_first_event_then_release(http, port, finished=True)
    assert len(accepted) == 2
