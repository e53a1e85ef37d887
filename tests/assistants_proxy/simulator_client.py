"""Helpers for talking to the test simulator over real HTTP, as any client would."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from assistants_proxy.simulator import DEFAULT_ASSISTANT_ID

HEADERS = {"OpenAI-Beta": "assistants=v2", "Authorization": "Bearer sk-test-anything"}


@dataclass
class Event:
    name: str
    raw: str  # the data line as sent; not always JSON (malformed fault, [DONE])
    received_at: float

    @property
    def data(self) -> Any:
        return json.loads(self.raw)


def client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers=HEADERS, timeout=20)


def thread_run_body(text: str, **extra: Any) -> dict[str, Any]:
    thread = {"messages": [{"role": "user", "content": text}]}
    return {"assistant_id": DEFAULT_ASSISTANT_ID, "thread": thread, "stream": True, **extra}


def iter_events(http: httpx.Client, path: str, body: dict[str, Any]) -> Iterator[Event]:
    with connect_sse(http, "POST", path, json=body) as source:
        assert source.response.status_code == 200, source.response.read()
        for sse in source.iter_sse():
            yield Event(sse.event, sse.data, time.monotonic())


def stream(http: httpx.Client, path: str, body: dict[str, Any]) -> list[Event]:
    return list(iter_events(http, path, body))


def create_and_run(http: httpx.Client, text: str) -> list[Event]:
    return stream(http, "/threads/runs", thread_run_body(text))


def names(events: list[Event]) -> list[str]:
    return [event.name for event in events]


def first(events: list[Event], name: str) -> Any:
    return next(event.data for event in events if event.name == name)


def text_of(events: list[Event]) -> str:
    deltas = [e.data for e in events if e.name == "thread.message.delta" and _is_json(e.raw)]
    return "".join(d["delta"]["content"][0]["text"]["value"] for d in deltas)


def _is_json(raw: str) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


def wait_for_run(http: httpx.Client, thread_id: str, run_id: str, status: str) -> Any:
    """Poll the run until it reaches `status` (runs finish in the background)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        run = http.get(f"/threads/{thread_id}/runs/{run_id}").json()
        if run["status"] == status:
            return run
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} stayed {run['status']}, expected {status}")


def assistant_messages(http: httpx.Client, thread_id: str) -> list[Any]:
    page = http.get(f"/threads/{thread_id}/messages", params={"order": "asc"}).json()
    return [m for m in page["data"] if m["role"] == "assistant"]


@pytest.fixture
def no_server_errors(simulator_server: Any) -> Iterator[None]:
    """The simulator must log no error or traceback, whatever the client did."""
    before = len(simulator_server.errors)
    yield
    time.sleep(0.05)  # let the server finish handling a just-closed connection
    new = simulator_server.errors[before:]
    assert not new, [record.getMessage() for record in new]
