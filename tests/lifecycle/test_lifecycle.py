"""The lifecycle a person lives, with real processes: start, chat, stop, start again; kill the
server mid-reply and start it again, as a supervisor would; lock the database across a reply's
end. Each test runs the app as deployed on a laptop (daphne, SQLite, the simulator mounted in
the same process, which forgets everything when it stops) and only talks to it over HTTP and
WebSocket, reading its SQLite file to check what was stored.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from tests.chat.test_health import required_url
from tests.chat.test_resume_random import sign_up
from tests.e2e.appserver import AppServer
from tests.lifecycle.tcp_proxy import TcpProxy

PROTOCOLS = ("assistants", "chat_completions", "responses")
ACTIVE = {"queued", "in_progress", "requires_action", "cancelling"}
TERMINAL = {
    f"thread.run.{s}" for s in ("completed", "incomplete", "failed", "cancelled", "expired")
}
TIMEOUT = 30.0
# One assistant per protocol, each the mounted simulator (a blank base URL).
ASSISTANTS = """
from chat.models import Assistant
for protocol in ("chat_completions", "responses"):
    Assistant.objects.create(name=protocol, protocol=protocol, model="gpt-4o")
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AppServer]:
    # A short lease: a run whose process died is found within seconds.
    server = AppServer(tmp_path, env={"RUN_LEASE_SECONDS": "3"})
    server.prepare([ASSISTANTS])
    server.start()
    yield server
    server.stop()


class Client:
    """alice, signed up, over the API."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRFToken": self.http.cookies["csrftoken"]}

    async def assistant_ids(self) -> dict[str, int]:
        listed = (await self.http.get("/api/assistants/")).json()["assistants"]
        return {a["protocol"]: a["id"] for a in listed}

    async def chat(self, content: str, assistant_id: int) -> tuple[int, int]:
        body = {"content": content, "assistant_id": assistant_id}
        created = await self.http.post("/api/threads/", json=body, headers=self.headers)
        assert created.status_code == 201, created.text
        return created.json()["thread"]["id"], created.json()["run"]["id"]

    async def say(self, thread_id: int, content: str) -> int:
        url = f"/api/threads/{thread_id}/messages/"
        sent = await self.http.post(url, json={"content": content}, headers=self.headers)
        assert sent.status_code == 201, sent.text
        return int(sent.json()["run"]["id"])

    async def run_state(self, thread_id: int, run_id: int) -> tuple[dict[str, Any], str]:
        """The run as the API has it, and its reply's text."""
        detail = (await self.http.get(f"/api/threads/{thread_id}/")).json()
        [run] = [r for r in detail["runs"] if r["id"] == run_id]
        replies = [
            m["content"]
            for m in detail["messages"]
            if m.get("run_id") == run_id and m["role"] == "assistant"
        ]
        return run, "".join(r for r in replies if isinstance(r, str))

    async def ended(self, thread_id: int, run_id: int) -> dict[str, Any]:
        async with asyncio.timeout(TIMEOUT):
            # Polling the API as a client would: the server's state has no event to await.
            while (run := (await self.run_state(thread_id, run_id))[0])["status"] in ACTIVE:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        return run


@asynccontextmanager
async def alice(server: AppServer) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(base_url=server.app.url, timeout=10) as http:
        await sign_up(http)
        yield Client(http)


@asynccontextmanager
async def logged_in_again(server: AppServer, client: Client) -> AsyncIterator[Client]:
    """alice's session, kept by her browser across the server's restart."""
    async with httpx.AsyncClient(
        base_url=server.app.url, timeout=10, cookies=client.http.cookies
    ) as http:
        yield Client(http)


async def test_threads_go_on_and_new_chats_work_after_a_restart(server: AppServer) -> None:
    async with alice(server) as client:
        ids = await client.assistant_ids()
        threads = {}
        for protocol in PROTOCOLS:
            thread_id, run_id = await client.chat("Hello", ids[protocol])
            assert (await client.ended(thread_id, run_id))["status"] == "completed"
            threads[protocol] = thread_id

        server.stop()  # the mounted simulator forgets every assistant, thread and response
        server.start()

        async with logged_in_again(server, client) as again:
            for protocol in PROTOCOLS:
                follow_up = await again.say(threads[protocol], "/sim tokens=12 And then?")
                ended = await again.ended(threads[protocol], follow_up)
                assert ended["status"] == "completed", (protocol, ended)
                thread_id, run_id = await again.chat("Hello again", ids[protocol])
                assert (await again.ended(thread_id, run_id))["status"] == "completed"


async def test_a_killed_server_started_again_settles_its_run_and_frees_the_thread(
    server: AppServer,
) -> None:
    async with alice(server) as client:
        ids = await client.assistant_ids()
        thread_id, run_id = await client.chat(
            "/sim rate=10 tokens=300 Tell me about rivers", ids["chat_completions"]
        )
        saved = await checkpointed(client, thread_id, run_id)

        server.kill()
        server.start()

        async with logged_in_again(server, client) as again:
            run = await again.ended(thread_id, run_id)  # no `recover_runs`: the server does it
            _, text = await again.run_state(thread_id, run_id)
            assert (run["status"], run["last_error"]["code"]) == ("failed", "interrupted")
            assert text.startswith(saved)  # nothing the user saw before the kill is lost
            next_run = await again.say(thread_id, "Hello")
            assert (await again.ended(thread_id, next_run))["status"] == "completed"


async def checkpointed(client: Client, thread_id: int, run_id: int) -> str:
    """Wait until the streaming reply's text has been saved at least once."""
    async with asyncio.timeout(TIMEOUT):
        while not (text := (await client.run_state(thread_id, run_id))[1]):  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    return text


async def test_a_reply_that_ended_while_the_database_was_locked_is_stored_whole(
    server: AppServer,
) -> None:
    # Another process holds the file for longer than SQLite's busy timeout (5 s).
    def lock() -> list[float]:
        return lock_database(server.app.sqlite_path, seconds=7.0)

    run_id, frames, released_at, ended_at = await reply_across_a_fault(server, lock)

    assert_ended_whole_after(frames, run_id, released_at, ended_at)
    streamed = "".join(delta_text(f) for f in frames if f["event"] == "thread.message.delta")
    assert stored_reply(server.app.sqlite_path, run_id) == ("completed", streamed)


async def test_a_reply_that_ended_while_postgresql_was_down_is_stored_whole(
    tmp_path: Path,
) -> None:
    with postgres_database() as (url, name), postgres_through_proxy(url, name) as (proxy, env):
        server = AppServer(tmp_path, env={**env, "RUN_LEASE_SECONDS": "3"})
        server.prepare([ASSISTANTS])
        server.start()
        try:

            def down() -> list[float]:
                proxy.cut()  # every connection breaks; new ones are refused
                return restore_later(proxy, seconds=6.0)

            run_id, frames, restored_at, ended_at = await reply_across_a_fault(server, down)
        finally:
            server.stop()
        assert_ended_whole_after(frames, run_id, restored_at, ended_at)
        streamed = "".join(delta_text(f) for f in frames if f["event"] == "thread.message.delta")
        assert stored_reply_pg(url, name, run_id) == ("completed", streamed)


async def reply_across_a_fault(
    server: AppServer, fault: Callable[[], list[float]]
) -> tuple[int, list[dict[str, Any]], list[float], float]:
    """A 2-second reply, with `fault` started at its first delta (so that it holds across
    the reply's end); the reply's frames, and when the fault was over and the end came."""
    async with alice(server) as client:
        ids = await client.assistant_ids()
        thread_id, first = await client.chat("Hello", ids["assistants"])
        await client.ended(thread_id, first)
        async with follow(server, client, thread_id) as socket:
            run_id = await client.say(thread_id, "/sim rate=20 tokens=40 Tell me something")
            frames = [await frame(socket)]
            while frames[-1]["event"] != "thread.message.delta":
                frames.append(await frame(socket))
            over_at = fault()
            while frames[-1]["event"] not in TERMINAL:
                frames.append(await frame(socket))
        return run_id, frames, over_at, time.monotonic()


def assert_ended_whole_after(
    frames: list[dict[str, Any]], run_id: int, over_at: list[float], ended_at: float
) -> None:
    assert frames[-1]["event"] == "thread.run.completed" and frames[-1]["run_id"] == run_id
    assert over_at and ended_at >= over_at[0]  # the end was announced once it was stored
    assert "saving_delayed" in [f["data"]["code"] for f in frames if f["event"] == "notice"]


@asynccontextmanager
async def follow(server: AppServer, client: Client, thread_id: int) -> AsyncIterator[Any]:
    url = server.app.url.replace("http://", "ws://") + f"/ws/threads/{thread_id}/"
    cookie = f"sessionid={client.http.cookies['sessionid']}"
    origin = Origin(server.app.url)
    async with connect(url, additional_headers={"Cookie": cookie}, origin=origin) as socket:
        yield socket


async def frame(socket: ClientConnection) -> dict[str, Any]:
    while True:
        found: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
        if found["event"] != "heartbeat":
            return found


def lock_database(path: Path, *, seconds: float) -> list[float]:
    """Hold an exclusive lock on the SQLite file from another connection for `seconds`;
    returns a list that gets the monotonic time of the release."""
    released: list[float] = []
    locked = threading.Event()

    def hold() -> None:
        with closing(sqlite3.connect(path, isolation_level=None)) as db:
            db.execute("BEGIN EXCLUSIVE")
            locked.set()
            time.sleep(seconds)
            db.execute("COMMIT")
            released.append(time.monotonic())

    threading.Thread(target=hold, daemon=True).start()
    assert locked.wait(5)
    return released


def delta_text(found: dict[str, Any]) -> str:
    parts = found["data"]["delta"].get("content", [])
    return "".join((p.get("text") or {}).get("value", "") for p in parts)


def stored_reply(path: Path, run_id: int) -> tuple[str, str]:
    with closing(sqlite3.connect(path)) as db:
        [(status, content)] = db.execute(
            "SELECT status, content FROM chat_message WHERE run_id = ? AND role = 'assistant'",
            (run_id,),
        ).fetchall()
    return str(status), str(content)


@contextmanager
def postgres_database() -> Iterator[tuple[str, str]]:
    """A database of its own on the test PostgreSQL server; its URL and name."""
    url = required_url("DATABASE_URL")
    name = f"lifecycle_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url, name
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_through_proxy(url: str, name: str) -> Iterator[tuple[TcpProxy, dict[str, str]]]:
    parts = urlsplit(url)
    proxy = TcpProxy(parts.port or 5432, target_host=parts.hostname or "127.0.0.1")
    proxy.start()
    proxied = parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}", path=f"/{name}")
    try:
        yield proxy, {"DATABASE_URL": urlunsplit(proxied), "DATABASE_POOL_TIMEOUT": "2"}
    finally:
        proxy.cut()


def restore_later(proxy: TcpProxy, *, seconds: float) -> list[float]:
    restored: list[float] = []

    def restore() -> None:
        time.sleep(seconds)
        proxy.start()
        restored.append(time.monotonic())

    threading.Thread(target=restore, daemon=True).start()
    return restored


def stored_reply_pg(url: str, name: str, run_id: int) -> tuple[str, str]:
    direct = urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    with psycopg.connect(direct) as db:
        [(status, content)] = db.execute(
            "SELECT status, content FROM chat_message WHERE run_id = %s AND role = 'assistant'",
            (run_id,),
        ).fetchall()
    return str(status), str(content)
