"""Server-sent events: a push decoder for bytes, a reader for captured streams, and the wire
reader for live `httpx` responses.

Decoding follows the WHATWG event-stream rules: CR, LF and CRLF all end a line (even when the
CR and LF arrive in different chunks), `data` lines join with LF, comment lines are ignored,
and a leading byte-order mark is dropped. The line rules are `httpx-sse`'s (`SSELineDecoder`),
and so are the field rules (`SSEDecoder`, inlined for speed; a test holds the two to the same
events); this module adds the byte layer, so a chunk boundary may fall anywhere, even inside
a multi-byte UTF-8 character.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator

import httpx
from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSELineDecoder

from assistants_proxy.errors import ProtocolError

__all__ = [
    "ServerSentEvent",
    "SSEStreamDecoder",
    "iter_sse_bytes",
    "read_capture",
    "aiter_sse",
    "SSEBody",
]

_BOM = "\ufeff"


class SSEStreamDecoder:
    """Push decoder: feed it byte chunks as they arrive, get complete events back."""

    def __init__(self) -> None:
        # Invalid UTF-8 becomes U+FFFD, as the spec says, rather than an exception.
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._lines = SSELineDecoder()
        self._started = False
        self._reset_fields()
        self._last_id = ""  # the spec keeps the last event id across events

    def _reset_fields(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        text = self._text.decode(chunk)
        if not self._started and text:
            self._started = True
            text = text.removeprefix(_BOM)
        return self._decode_lines(self._lines.decode(text)) if text else []

    def flush(self) -> list[ServerSentEvent]:
        """End of stream. As the spec says, an event not ended by a blank line is dropped:
        a stream cut mid-event must not pass half an event's data off as whole."""
        tail = self._text.decode(b"", final=True)
        lines = self._lines.decode(tail) if tail else []
        if self._lines.trailing_cr:  # a CR at the very end still ends its line
            lines += self._lines.flush()
        events = self._decode_lines(lines)
        self._lines = SSELineDecoder()
        self._reset_fields()
        return events

    def _decode_lines(self, lines: list[str]) -> list[ServerSentEvent]:
        """The field rules of `httpx_sse.SSEDecoder.decode`, inlined: this loop runs for every
        line of every stream, and a call per line was a third of the decoder's time."""
        events = []
        for line in lines:
            if not line:
                event = self._dispatch()
                if event is not None:
                    events.append(event)
                continue
            if line[0] == ":":  # a comment, as servers send to keep a connection alive
                continue
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id":
                if "\0" not in value:
                    self._last_id = value
            elif name == "retry":
                with contextlib.suppress(ValueError):
                    self._retry = int(value)
        return events

    def _dispatch(self) -> ServerSentEvent | None:
        data, event, retry = "\n".join(self._data), self._event, self._retry
        self._reset_fields()
        # A block of only `id:`/`retry:` fields (a reconnection hint servers send first) is
        # no event. An event name without data is: the seed ends with a bare `event: done`.
        if not data and event in ("", "message"):
            return None
        return ServerSentEvent(event=event, data=data, id=self._last_id, retry=retry)


def iter_sse_bytes(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    decoder = SSEStreamDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.flush()


# The flattened capture form: `event: NAME data: {json} event: NAME data: {json} ...`, all on
# one line. JSON text may itself contain "event: ", so each data value is parsed as JSON from
# its start rather than split on a pattern.
_FLAT_EVENT = re.compile(r"\s*event:\s*(\S+)\s*(data:\s?)?")
_FLAT_START = re.compile(r"^\s*event:\s*\S+\s+data:")


def read_capture(text: str) -> list[ServerSentEvent]:
    """Read a captured stream: standard SSE text, or the flattened one-line form."""
    text = text.removeprefix(_BOM)
    first = next((line for line in text.splitlines() if line.strip()), "")
    if _FLAT_START.match(first):
        return list(_read_flattened(text))
    # A capture file is whole: its last event counts even without the final blank line.
    return list(iter_sse_bytes([text.encode(), b"\n\n"]))


def _read_flattened(text: str) -> Iterator[ServerSentEvent]:
    decoder = json.JSONDecoder()
    pos, end = 0, len(text.rstrip())
    while pos < end:
        match = _FLAT_EVENT.match(text, pos)
        if match is None:
            raise ProtocolError(f"flattened capture: expected 'event:' at offset {pos}")
        name, pos = match.group(1), match.end()
        data, pos = _flat_data(text, pos, decoder) if match.group(2) else ("", pos)
        yield ServerSentEvent(event=name, data=data)


def _flat_data(text: str, pos: int, decoder: json.JSONDecoder) -> tuple[str, int]:
    if text.startswith("[DONE]", pos):
        return "[DONE]", pos + len("[DONE]")
    if _FLAT_EVENT.match(text, pos) or not text[pos:].strip():
        return "", pos  # `data:` with nothing after it, as the seed's final `done`
    try:
        _, end = decoder.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"flattened capture: bad JSON at offset {pos}: {exc.msg}") from None
    return text[pos:end], end


async def aiter_sse(response: httpx.Response) -> AsyncGenerator[ServerSentEvent, None]:
    """Events from a live streaming response, decoded as the bytes arrive."""
    # Media types are case-insensitive (RFC 9110, section 8.3.1).
    content_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != "text/event-stream":
        raise ProtocolError(f"expected a text/event-stream response, got {content_type!r}")
    decoder = SSEStreamDecoder()
    async for chunk in response.aiter_bytes():
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.flush():
        yield event


class SSEBody:
    """The events of one live streaming response, then its release.

    A reader stops at the reply's last event (the run's end, `done`), but the server's body
    does not end there: `[DONE]` and the chunked encoding's last chunk follow at once. Closing
    the response with those unread closes its connection too, so the next stream to the same
    server pays a new TCP connection (and, over https, a TLS handshake). `release(finished=
    True)` reads that end first, briefly and boundedly, and the connection goes back to the
    client's pool; a body that does not end within `DRAIN_SECONDS` or `DRAIN_EVENTS` is closed
    as before, and so is one released unfinished (a cancel, an error).
    """

    # A server sends the body's end right after its last event, usually in the same write.
    # The bound is short because a run's end is announced only once its stream is released.
    DRAIN_SECONDS = 0.1
    DRAIN_EVENTS = 4

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._events: AsyncGenerator[ServerSentEvent, None] | None = None

    def events(self) -> AsyncIterator[ServerSentEvent]:
        """The one iterator over the body's events: iterating again goes on where the last
        loop stopped."""
        if self._events is None:
            self._events = aiter_sse(self.response)
        return self._events

    async def release(self, *, finished: bool) -> None:
        events, self._events = self._events, None
        # A read in progress in another task (a cancel closing the stream under its reader)
        # is woken by the response's close; that generator is not ours to drain or close.
        ours = events is not None and not getattr(events, "ag_running", False)
        try:
            if finished and ours and events is not None and not self.response.is_closed:
                await self._drain(events)
        finally:
            if ours and events is not None:
                await events.aclose()
            await self.response.aclose()

    async def _drain(self, events: AsyncIterator[ServerSentEvent]) -> None:
        left = self.DRAIN_EVENTS
        try:
            async with asyncio.timeout(self.DRAIN_SECONDS):
                async for _ in events:
                    left -= 1
                    if not left:
                        return
        except (TimeoutError, httpx.HTTPError, httpx.StreamError, ProtocolError):
            pass  # not reusable: closed below with the response
