"""SSE bytes decoded into (event, data) pairs in chunks of any size, and written back."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from assistants_proxy.sse import SSEStreamDecoder, iter_sse_bytes

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
