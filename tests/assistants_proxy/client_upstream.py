"""The client against one upstream, recording every request, response and backoff."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from assistants_proxy.accumulator import RunAccumulator
from assistants_proxy.client import AssistantsClient, EventStream
from assistants_proxy.events import StreamEvent
from assistants_proxy.simulator import DEFAULT_ASSISTANT_ID

SEED = Path(__file__).resolve().parent.parent / "fixtures" / "seed-capture.txt"
SEED_TEXT = "Hello! How can I assist you today?"


class Upstream:
    """One upstream as a client sees it: every request and response, and every backoff."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.requests: list[httpx.Request] = []
        self.responses: list[httpx.Response] = []
        self.sleeps: list[float] = []

    async def _record_request(self, request: httpx.Request) -> None:
        self.requests.append(request)

    async def _record_response(self, response: httpx.Response) -> None:
        self.responses.append(response)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    @asynccontextmanager
    async def client(self, **options: Any) -> AsyncIterator[AssistantsClient]:
        hooks: dict[str, list[Callable[..., Any]]] = {
            "request": [self._record_request],
            "response": [self._record_response],
        }
        options.setdefault("sleep", self.sleep)
        async with httpx.AsyncClient(event_hooks=hooks) as http:
            yield AssistantsClient(http, base_url=self.base_url, api_key="sk-test", **options)

    @property
    def statuses(self) -> list[int]:
        return [r.status_code for r in self.responses]


def thread_run(text: str) -> dict[str, Any]:
    return {
        "assistant_id": DEFAULT_ASSISTANT_ID,
        "thread": {"messages": [{"role": "user", "content": text}]},
    }


def unique(text: str) -> str:
    """The simulator's `times=K` counts attempts per message text: keep each test's own (no
    longer a greeting, so the reply is the simulator's Markdown one)."""
    return f"{text} ({uuid.uuid4().hex[:8]})"


async def collect(
    stream: EventStream, accumulator: RunAccumulator | None = None
) -> tuple[list[StreamEvent], RunAccumulator]:
    accumulator = accumulator or RunAccumulator()
    events = []
    async with stream as opened:
        async for event in opened:
            events.append(event)
            accumulator.feed(event)
    return events, accumulator


def names(events: list[StreamEvent]) -> list[str]:
    return [e.name for e in events]
