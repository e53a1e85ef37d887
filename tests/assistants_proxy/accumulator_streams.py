"""The fixtures the accumulator tests feed it: the seed and the recordings, read as events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistants_proxy.accumulator import RunAccumulator
from assistants_proxy.events import StreamEvent, parse_event
from assistants_proxy.sse import read_capture

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEED = FIXTURES / "seed-capture.txt"
RECORDED = FIXTURES / "openai-recorded"
ASSISTANTS_RECORDINGS = sorted(p.name for p in RECORDED.glob("assistants-*.sse"))
SEED_TEXT = "Hello! How can I assist you today?"


def load(path: Path) -> list[StreamEvent]:
    return [parse_event(s.event, s.data) for s in read_capture(path.read_text("utf-8"))]


def recording(name: str) -> list[StreamEvent]:
    return load(RECORDED / name)


def expected(name: str) -> dict[str, Any]:
    sidecar = RECORDED / name.replace(".sse", ".json")
    return dict(json.loads(sidecar.read_text("utf-8"))["expected"])


def accumulate(events: Sequence[StreamEvent]) -> RunAccumulator:
    accumulator = RunAccumulator()
    for event in events:
        accumulator.feed(event)
    return accumulator


def tool_calls(step: dict[str, Any]) -> list[dict[str, Any]]:
    return list((step.get("step_details") or {}).get("tool_calls") or [])
