"""Helpers for driving the upstream adapters in tests, whatever the protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from assistants_proxy.accumulator import RunAccumulator
from assistants_proxy.events import StreamEvent, parse_event
from assistants_proxy.simulator import DEFAULT_ASSISTANT_ID
from assistants_proxy.simulator.defaults import GET_WEATHER
from assistants_proxy.sse import read_capture
from assistants_proxy.upstreams import PROTOCOLS, RunRequest, RunStream, Upstream, make_upstream

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RECORDED = FIXTURES / "openai-recorded"
SEED_TEXT = "Hello! How can I assist you today?"
ALL_PROTOCOLS = list(PROTOCOLS)
STATELESS = ["chat_completions", "responses"]


def seed_names() -> list[str]:
    """The seed's event names, without `thread.created`: the thread is the caller's."""
    events = [parse_event(sse.event, sse.data) for sse in read_capture(_seed())]
    return [event.name for event in events if event.name != "thread.created"]


def _seed() -> str:
    return (FIXTURES / "seed-capture.txt").read_text()


def request(text: str, *, history: list[dict[str, Any]] | None = None, **extra: Any) -> RunRequest:
    messages = [*(history or []), {"role": "user", "content": text}]
    options: dict[str, Any] = {
        "model": "gpt-4o",
        "tools": [GET_WEATHER],
        "assistant_id": DEFAULT_ASSISTANT_ID,
    }
    return RunRequest(messages=messages, **(options | extra))


@asynccontextmanager
async def upstream_for(protocol: str, base_url: str, **options: Any) -> AsyncIterator[Upstream]:
    options.setdefault("max_retries", 0)
    async with httpx.AsyncClient() as http:
        yield make_upstream(protocol, http, base_url=base_url, api_key="sk-test", **options)


async def collect(stream: RunStream) -> tuple[list[StreamEvent], RunAccumulator]:
    accumulator = RunAccumulator()
    received: list[StreamEvent] = []
    async with stream as events:
        async for event in events:
            received.append(event)
            accumulator.feed(event)
    return received, accumulator


def names(events: list[StreamEvent]) -> list[str]:
    return [event.name for event in events]


def first(events: list[StreamEvent], name: str) -> dict[str, Any]:
    return next(event.data for event in events if event.name == name)


def last(events: list[StreamEvent], name: str) -> dict[str, Any]:
    return [event.data for event in events if event.name == name][-1]


def run_of(accumulator: RunAccumulator) -> dict[str, Any]:
    """The run snapshot, which every stream that got going has."""
    assert accumulator.run is not None
    return accumulator.run
