"""A browser's side of the app, over real HTTP and WebSockets: log in, start threads, send
messages, follow a run's frames, cancel, read the stored thread (docs/api.md,
docs/protocol.md)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from tests.real_model.suite import PASSWORD, AssistantSpec

TERMINAL = {
    "thread.run.completed",
    "thread.run.failed",
    "thread.run.cancelled",
    "thread.run.incomplete",
    "thread.run.expired",
}
# A run queued behind another one's generation (the server makes one at a time) may wait
# for it; the tests' runs are short, so this only bounds a hang.
RUN_TIMEOUT = 90.0

Frame = dict[str, Any]


@dataclass
class Received:
    """A frame and when it arrived (time.monotonic())."""

    frame: Frame
    at: float

    @property
    def event(self) -> str:
        return str(self.frame["event"])

    @property
    def seq(self) -> int | None:
        return self.frame["seq"]


class ChatUser:
    def __init__(self, app_url: str, http: httpx.AsyncClient) -> None:
        self.app_url = app_url
        self.http = http
        self._assistant_ids: dict[str, int] = {}

    @classmethod
    @asynccontextmanager
    async def logged_in(cls, app_url: str, username: str) -> AsyncIterator[ChatUser]:
        async with httpx.AsyncClient(base_url=app_url, timeout=30.0) as http:
            form = await http.get("/accounts/login/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
            assert token, form.text
            fields = {
                "csrfmiddlewaretoken": token.group(1),
                "username": username,
                "password": PASSWORD,
            }
            done = await http.post("/accounts/login/", data=fields)
            assert done.status_code == 302 and "sessionid" in http.cookies, done.text
            yield cls(app_url, http)

    # -- HTTP ----------------------------------------------------------------------------

    async def _post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"X-CSRFToken": self.http.cookies["csrftoken"]}
        return await self.http.post(path, json=body, headers=headers)

    async def assistant_id(self, spec: AssistantSpec) -> int:
        """The assistant's id, asked once (a timed `start_thread` then makes one request)."""
        if not self._assistant_ids:
            listed = (await self.http.get("/api/assistants/")).json()["assistants"]
            self._assistant_ids = {a["name"]: int(a["id"]) for a in listed}
        return self._assistant_ids[spec.name]

    async def start_thread(self, content: str, spec: AssistantSpec) -> tuple[int, int]:
        """(thread id, run id) of a new thread with this first message."""
        body = {"content": content, "assistant_id": await self.assistant_id(spec)}
        created = await self._post("/api/threads/", body)
        assert created.status_code == 201, created.text
        return created.json()["thread"]["id"], created.json()["run"]["id"]

    async def send(self, thread_id: int, content: str) -> int:
        sent = await self._post(f"/api/threads/{thread_id}/messages/", {"content": content})
        assert sent.status_code == 201, sent.text
        return int(sent.json()["run"]["id"])

    async def thread(self, thread_id: int) -> dict[str, Any]:
        found = await self.http.get(f"/api/threads/{thread_id}/")
        assert found.status_code == 200, found.text
        return dict(found.json())

    async def thread_titled(self, title: str) -> int:
        listed = (await self.http.get("/api/threads/")).json()["threads"]
        return next(int(t["id"]) for t in listed if t["title"] == title)

    async def stored_run(self, thread_id: int, run_id: int) -> tuple[dict[str, Any], str]:
        """The run as the API has it, and the text of its reply (its assistant messages)."""
        detail = await self.thread(thread_id)
        run = next(r for r in detail["runs"] if r["id"] == run_id)
        replies = [
            m["content"]
            for m in detail["messages"]
            if m["role"] == "assistant" and m["run_id"] == run_id
        ]
        return run, "".join(replies)

    # -- WebSocket -----------------------------------------------------------------------

    def socket(self, thread_id: int, query: str = "") -> connect:
        """`async with user.socket(...) as ws`: the thread's socket with this session."""
        url = self.app_url.replace("http://", "ws://") + f"/ws/threads/{thread_id}/{query}"
        cookies = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        return connect(url, additional_headers={"Cookie": cookies}, origin=Origin(self.app_url))

    async def follow(self, thread_id: int, run_id: int, after_seq: int = 0) -> list[Received]:
        """The run's frames after `after_seq`, up to its end, on a socket opened for them."""
        query = f"?run_id={run_id}&after_seq={after_seq}"
        async with self.socket(thread_id, query) as ws:
            return await read_run(ws, run_id)


async def next_frame(ws: ClientConnection) -> Received:
    """The next frame of a run (pongs and heartbeats, which have no seq, are passed over)."""
    while True:
        frame = json.loads(await ws.recv(decode=True))
        if frame["seq"] is not None:
            return Received(frame, time.monotonic())


async def read_run(
    ws: ClientConnection, run_id: int, *, until: int | None = None
) -> list[Received]:
    """Frames of the run until its end (or until `until` deltas, when given)."""
    frames: list[Received] = []
    async with asyncio.timeout(RUN_TIMEOUT):
        while True:
            received = await next_frame(ws)
            assert received.frame["run_id"] == run_id, received.frame
            frames.append(received)
            if received.event in TERMINAL:
                return frames
            if until is not None and len(deltas(frames)) >= until:
                return frames


def deltas(frames: list[Received]) -> list[Received]:
    return [f for f in frames if f.event == "thread.message.delta"]


def delta_text(frames: list[Received]) -> str:
    parts = []
    for received in deltas(frames):
        for part in received.frame["data"]["delta"].get("content", []):
            if part.get("type") == "text":
                parts.append(part["text"]["value"])
    return "".join(parts)


def seqs(frames: list[Received]) -> list[int]:
    return [f.seq for f in frames if f.seq is not None]
