"""The deployment topology with real processes: nginx in front of two daphne processes, one run
worker, the simulator upstream, the machine's PostgreSQL and Redis (RUN_EXECUTION=worker).

- a run started through nginx is executed by the worker and watched, token by token, from
  both daphne processes with the same frames;
- a worker killed with SIGKILL mid-run: another worker settles the run with its full text;
- Redis restarted mid-run: the processes recover (no crash loop) and the reply completes.

Needs REDIS_URL and DATABASE_URL (PostgreSQL); it makes its own database and key prefix.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from tests.deploy.topology import (
    PYTHON,
    app_env,
    daphne_process,
    free_port,
    migrate,
    nginx_in_front,
    process,
    require_nginx,
    worker_process,
)

pytestmark = pytest.mark.timeout(300)

END = {
    "thread.run.completed",
    "thread.run.failed",
    "thread.run.cancelled",
    "thread.run.expired",
    "thread.run.incomplete",
}
LEASE_SECONDS = "2"


def _require(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        reason = f"{name} is not set: the topology test needs the real service"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
        pytest.skip(reason)
    return value


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database next to the one `url` names; dropped afterwards."""
    import psycopg

    name = f"topology_{secrets.token_hex(4)}"
    parts = urlsplit(url)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def simulator_process(port: int, log_dir: Path) -> Iterator[str]:
    argv = [PYTHON, "-m", "assistants_proxy.simulator", "--port", str(port), "--rate", "40"]
    argv += ["--no-access-log"]

    def ready() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/v1/assistants/none", timeout=1).is_error
        except httpx.HTTPError:
            return False

    with process(argv, env=dict(os.environ), ready=ready, log_path=log_dir / "simulator.log"):
        yield f"http://127.0.0.1:{port}/v1"


@dataclass
class Stack:
    base_url: str
    daphne_ports: list[int]
    env: dict[str, str]
    log_dir: Path
    exits: ExitStack
    workers: list[psutil.Process] = field(default_factory=list)

    def start_worker(self, name: str) -> psutil.Process:
        proc = self.exits.enter_context(worker_process(self.env, log_dir=self.log_dir, name=name))
        self.workers.append(proc)
        return proc


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_nginx()
    redis_url = _require("REDIS_URL")
    database_url = _require("DATABASE_URL")
    tmp = tmp_path_factory.mktemp("topology")
    logs = tmp / "logs"
    logs.mkdir()
    with fresh_database(database_url) as db_url, ExitStack() as exits:
        sim_url = exits.enter_context(simulator_process(free_port(), logs))
        env = app_env(
            DEBUG="0",
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SESSION_COOKIE_SECURE="0",
            CSRF_COOKIE_SECURE="0",
            DATABASE_URL=db_url,
            REDIS_URL=redis_url,
            REDIS_KEY_PREFIX=f"topology-{secrets.token_hex(4)}",
            RUN_EXECUTION="worker",
            RUN_LEASE_SECONDS=LEASE_SECONDS,
            SIMULATOR_MOUNT="0",
            SIMULATOR_URL=sim_url,
            STATIC_ROOT=str(tmp / "static"),
            SERVE_STATIC="0",
            WS_HEARTBEAT_SECONDS="1",
        )
        migrate(env)
        ports = [free_port(), free_port()]
        for port in ports:
            exits.enter_context(daphne_process(port, env, log_dir=logs))
        base_url = exits.enter_context(nginx_in_front(ports, tmp / "static", log_dir=logs))
        stack = Stack(base_url, ports, env, logs, exits)
        stack.start_worker("worker-1")
        yield stack


@dataclass
class User:
    cookies: str
    csrf: str


@pytest.fixture(scope="module")
def user(stack: Stack) -> User:
    password = secrets.token_urlsafe(16)
    with httpx.Client(base_url=stack.base_url, follow_redirects=True) as client:
        client.get("/accounts/signup/").raise_for_status()
        client.post(
            "/accounts/signup/",
            data={
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
                "username": f"user-{secrets.token_hex(4)}",
                "password1": password,
                "password2": password,
            },
        ).raise_for_status()
        assert "sessionid" in client.cookies
        cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        return User(cookies, client.cookies["csrftoken"])


def api(stack: Stack, user: User) -> httpx.Client:
    return httpx.Client(
        base_url=stack.base_url,
        headers={"Cookie": user.cookies, "X-CSRFToken": user.csrf},
        timeout=10,
    )


async def open_socket(url: str, user: User, thread_id: int, query: str = "") -> ClientConnection:
    ws = url.replace("http://", "ws://", 1) + f"/ws/threads/{thread_id}/{query}"
    return await connect(
        ws, origin=Origin(url), additional_headers={"Cookie": user.cookies}, open_timeout=10
    )


@dataclass
class Watch:
    frames: list[dict[str, Any]] = field(default_factory=list)

    @property
    def seqs(self) -> list[int]:
        return [f["seq"] for f in self.frames if f.get("seq") is not None]

    @property
    def deltas(self) -> str:
        return "".join(
            f["data"]["delta"]["content"][0]["text"]["value"]
            for f in self.frames
            if f["event"] == "thread.message.delta"
        )

    def final_text(self) -> str | None:
        done = [f for f in self.frames if f["event"] == "thread.message.completed"]
        if not done or done[-1]["data"].get("role") != "assistant":
            return None
        return str(done[-1]["data"]["content"][0]["text"]["value"])

    @property
    def end(self) -> str | None:
        return next((f["event"] for f in self.frames if f["event"] in END), None)


async def follow(socket: ClientConnection, watch: Watch, run_id: int, limit: float = 60) -> None:
    """Record the run's frames until its end (heartbeats and other runs' frames ignored)."""
    deadline = time.monotonic() + limit
    while watch.end is None:
        raw = await asyncio.wait_for(socket.recv(), timeout=max(deadline - time.monotonic(), 0.1))
        frame = json.loads(raw)
        if frame.get("run_id") == run_id and frame["event"] not in ("heartbeat", "pong"):
            watch.frames.append(frame)


def start_thread(stack: Stack, user: User, content: str) -> tuple[int, int]:
    with api(stack, user) as client:
        response = client.post("/api/threads/", json={"content": content})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["thread"]["id"], body["run"]["id"]


def stored_reply(stack: Stack, user: User, thread_id: int, run_id: int) -> tuple[str, str]:
    """The run's status and its assistant message's text, from the API."""
    with api(stack, user) as client:
        body = client.get(f"/api/threads/{thread_id}/").json()
    run = next(r for r in body["runs"] if r["id"] == run_id)
    replies = [m for m in body["messages"] if m["run_id"] == run_id and m["role"] == "assistant"]
    return run["status"], "".join(m["content"] for m in replies)


def wait_stored(stack: Stack, user: User, thread_id: int, run_id: int) -> tuple[str, str]:
    deadline = time.monotonic() + 60
    while True:
        status, text = stored_reply(stack, user, thread_id, run_id)
        if status in {"completed", "failed", "cancelled", "expired", "incomplete"}:
            return status, text
        assert time.monotonic() < deadline, f"run {run_id} still {status}"
        time.sleep(0.2)


async def test_a_run_executed_by_the_worker_streams_to_both_daphne_processes(
    stack: Stack, user: User
) -> None:
    # The thread exists first, so that sockets are on it before the run starts.
    thread_id, first_run = start_thread(stack, user, "Hello")
    wait_stored(stack, user, thread_id, first_run)
    sockets = [
        await open_socket(stack.base_url, user, thread_id),  # through nginx
        await open_socket(f"http://127.0.0.1:{stack.daphne_ports[0]}", user, thread_id),
        await open_socket(f"http://127.0.0.1:{stack.daphne_ports[1]}", user, thread_id),
    ]
    with api(stack, user) as client:
        response = client.post(
            f"/api/threads/{thread_id}/messages/", json={"content": "/sim tokens=60 Rivers"}
        )
    assert response.status_code == 201, response.text
    run_id = response.json()["run"]["id"]
    watches = [Watch() for _ in sockets]
    await asyncio.gather(*(follow(s, w, run_id) for s, w in zip(sockets, watches, strict=True)))
    for socket in sockets:
        await socket.close()

    status, text = wait_stored(stack, user, thread_id, run_id)
    assert status == "completed"
    reference = watches[0]
    assert reference.end == "thread.run.completed"
    # Token by token: one frame per delta, every seq from 1, in order.
    assert len([f for f in reference.frames if f["event"] == "thread.message.delta"]) >= 60
    assert reference.seqs == list(range(1, len(reference.seqs) + 1))
    assert reference.deltas == text
    for other in watches[1:]:
        assert other.frames == reference.frames
    with api(stack, user) as client:
        owner = client.get(f"/api/threads/{thread_id}/").json()
    assert owner["runs"][-1]["status"] == "completed"


async def test_a_worker_killed_mid_run_is_replaced_and_the_reply_completes_intact(
    stack: Stack, user: User
) -> None:
    thread_id, first_run = start_thread(stack, user, "Hello")
    wait_stored(stack, user, thread_id, first_run)
    socket = await open_socket(stack.base_url, user, thread_id)
    with api(stack, user) as client:
        response = client.post(
            f"/api/threads/{thread_id}/messages/",
            json={"content": "/sim tokens=200 rate=40 Tell me about rivers"},
        )
    assert response.status_code == 201, response.text
    run_id = response.json()["run"]["id"]
    watch = Watch()
    while watch.deltas.count(" ") < 10:  # well into the reply
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=20))
        if frame.get("run_id") == run_id:
            watch.frames.append(frame)
    seen = watch.deltas
    victim = stack.workers[-1]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    stack.start_worker("worker-2")

    await follow(socket, watch, run_id, limit=90)
    await socket.close()
    status, text = wait_stored(stack, user, thread_id, run_id)
    assert status == "completed", status
    assert watch.end == "thread.run.completed"
    # The whole reply (200 tokens), not what had streamed when the worker died.
    assert text.startswith(seen) and len(text) > len(seen)
    assert watch.final_text() == text


def _redis_restart() -> None:
    """Restart the machine's Redis as the environment starts it (it keeps nothing on disk)."""
    conf = {}
    for key in ("port", "bind", "dir", "logfile"):
        out = subprocess.run(
            ["redis-cli", "config", "get", key], capture_output=True, text=True, check=True
        ).stdout.split("\n")
        conf[key] = out[1] if len(out) > 1 else ""
    subprocess.run(["redis-cli", "shutdown", "nosave"], capture_output=True, check=False)
    time.sleep(0.5)
    argv = ["redis-server", "--daemonize", "yes", "--port", conf["port"] or "6379"]
    argv += ["--bind", *(conf["bind"] or "127.0.0.1").split()]
    argv += ["--save", "", "--appendonly", "no", "--dir", conf["dir"] or "/var/lib/redis"]
    if conf["logfile"]:
        argv += ["--logfile", conf["logfile"]]
    subprocess.run(argv, check=True)
    deadline = time.monotonic() + 20
    while subprocess.run(["redis-cli", "ping"], capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, "Redis did not come back"
        time.sleep(0.1)


async def test_a_redis_restart_mid_run_is_survived(stack: Stack, user: User) -> None:
    if not _local_redis(stack.env["REDIS_URL"]):
        pytest.skip("REDIS_URL is not this machine's Redis: it cannot be restarted here")
    thread_id, first_run = start_thread(stack, user, "Hello")
    wait_stored(stack, user, thread_id, first_run)
    socket = await open_socket(stack.base_url, user, thread_id)
    with api(stack, user) as client:
        response = client.post(
            f"/api/threads/{thread_id}/messages/",
            json={"content": "/sim tokens=160 rate=40 Tell me about lakes"},
        )
    assert response.status_code == 201, response.text
    run_id = response.json()["run"]["id"]
    pids = [w.pid for w in stack.workers if w.is_running()]
    watch = Watch()
    while watch.deltas.count(" ") < 8:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=20))
        if frame.get("run_id") == run_id:
            watch.frames.append(frame)
    _redis_restart()

    # The socket may be dropped meanwhile; a client reconnects and resumes after its last seq.
    try:
        await follow(socket, watch, run_id, limit=60)
    except Exception:
        last = max(watch.seqs)
        socket = await open_socket(
            stack.base_url, user, thread_id, f"?run_id={run_id}&after_seq={last}"
        )
        await follow(socket, watch, run_id, limit=60)
    await socket.close()
    status, text = wait_stored(stack, user, thread_id, run_id)
    assert status == "completed"
    assert watch.end == "thread.run.completed"
    final = watch.final_text()
    resynced = any(f["event"] == "resync" for f in watch.frames)
    # Every frame the socket got is in order and distinct, and the reply is whole: in the
    # frames, or (after a resync frame for frames Redis lost) in the database.
    assert watch.seqs == sorted(set(watch.seqs))
    assert final == text or (resynced and text.startswith(watch.deltas[:20]))
    assert len(text) > len(watch.deltas[:20])
    # No crash loop: the same processes serve, and readiness is back.
    assert [w.pid for w in stack.workers if w.is_running()] == pids
    async with httpx.AsyncClient(timeout=5) as client:
        assert (await client.get(f"{stack.base_url}/readyz")).status_code == 200


def _local_redis(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in {"127.0.0.1", "localhost", "::1"}
