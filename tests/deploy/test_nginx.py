"""nginx in front of two daphne processes, as deploy/nginx.conf.template configures it.

Real processes on loopback ports (tests/deploy/topology.py): SQLite in a temp directory,
the simulator mounted in each app, no Redis. Everything goes through nginx, as a browser's
requests would.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Origin

from tests.deploy.topology import (
    PYTHON,
    REPO,
    app_env,
    collectstatic,
    daphne_process,
    free_port,
    migrate,
    nginx_in_front,
    render_nginx_conf,
    require_nginx,
)

GREETING_REPLY = "Hello! How can I assist you today?"  # the simulator's answer to "Hello"
TERMINAL = {"thread.run.failed", "thread.run.cancelled", "thread.run.expired"}
STATIC_FILE = "admin/css/base.css"  # Django's own, collected like ours, and never edited


@dataclass
class Stack:
    base_url: str
    daphne_ports: list[int]
    daphne_pids: set[int]
    static_root: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_nginx()
    tmp = tmp_path_factory.mktemp("nginx-stack")
    env = app_env(
        DEBUG="0",
        SECRET_KEY="deploy-test-only-secret-key",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SESSION_COOKIE_SECURE="0",  # plain http on loopback: a secure cookie would be dropped
        CSRF_COOKIE_SECURE="0",
        SQLITE_PATH=str(tmp / "db.sqlite3"),
        STATIC_ROOT=str(tmp / "static"),
        SERVE_STATIC="0",  # so that a static file that arrives can only have come from nginx
        SIMULATOR_MOUNT="1",
    )
    migrate(env)
    collectstatic(env)
    ports = [free_port(), free_port()]
    logs = tmp / "logs"
    with (
        daphne_process(ports[0], env, log_dir=logs) as web1,
        daphne_process(ports[1], env, log_dir=logs) as web2,
        nginx_in_front(ports, tmp / "static", log_dir=logs) as base_url,
    ):
        yield Stack(base_url, ports, {web1.pid, web2.pid}, tmp / "static")


def test_requests_reach_both_daphne_processes(stack: Stack) -> None:
    with httpx.Client(base_url=stack.base_url) as client:
        pids = {client.get("/healthz").json()["pid"] for _ in range(6)}
    assert pids == stack.daphne_pids


def test_readiness_is_answered_through_nginx(stack: Stack) -> None:
    response = httpx.get(f"{stack.base_url}/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


def test_the_container_probe_passes_against_a_ready_process(stack: Stack) -> None:
    # compose's web healthcheck (deploy/probe.py), with a production-like ALLOWED_HOSTS whose
    # first name is not the address the probe connects to.
    for port in stack.daphne_ports:
        probe = subprocess.run(
            [PYTHON, "deploy/probe.py", f"http://127.0.0.1:{port}/readyz"],
            cwd=REPO,
            env={**os.environ, "ALLOWED_HOSTS": "localhost,chat.example.com"},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert probe.returncode == 0, probe.stderr


def test_the_host_header_reaches_django_unchanged(stack: Stack) -> None:
    # Django's host check still applies behind the proxy: nginx passes Host, not its own.
    response = httpx.get(f"{stack.base_url}/healthz", headers={"Host": "evil.example"})
    assert response.status_code == 400


def test_nginx_serves_static_files_itself(stack: Stack) -> None:
    response = httpx.get(f"{stack.base_url}/static/{STATIC_FILE}")
    assert response.status_code == 200
    assert response.content == (stack.static_root / STATIC_FILE).read_bytes()
    assert response.headers["content-type"].startswith("text/css")
    assert response.headers["cache-control"] == "max-age=3600"
    # The app itself does not serve it (SERVE_STATIC=0): the bytes came from nginx.
    direct = httpx.get(f"http://127.0.0.1:{stack.daphne_ports[0]}/static/{STATIC_FILE}")
    assert direct.status_code == 404


@dataclass
class StartedThread:
    cookie_header: str
    thread_id: int
    run_id: int


@pytest.fixture
def started_thread(stack: Stack) -> StartedThread:
    """A user signed up and a thread started with "Hello", all through nginx."""
    password = secrets.token_urlsafe(16)
    with httpx.Client(base_url=stack.base_url, follow_redirects=True) as client:
        client.get("/accounts/signup/").raise_for_status()
        signup = client.post(
            "/accounts/signup/",
            data={
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
                "username": f"user-{secrets.token_hex(4)}",
                "password1": password,
                "password2": password,
            },
        )
        signup.raise_for_status()
        assert "sessionid" in client.cookies, signup.text
        created = client.post(
            "/api/threads/",
            json={"content": "Hello"},
            headers={"X-CSRFToken": client.cookies["csrftoken"]},
        )
        assert created.status_code == 201, created.text
        body = created.json()
        cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    return StartedThread(cookies, body["thread"]["id"], body["run"]["id"])


async def test_a_reply_streams_over_a_websocket_through_nginx(
    stack: Stack, started_thread: StartedThread
) -> None:
    # Without Redis a run's event log lives in the process that started it, and round robin
    # may send the socket to the other one, which answers "resync". So try each process in
    # turn; with the Redis run engine the first socket already gets the replay.
    outcomes = []
    for _ in range(len(stack.daphne_ports) + 1):
        outcome = await _watch_run(stack.base_url, started_thread)
        if outcome == "completed":
            return
        outcomes.append(outcome)
    pytest.fail(f"no socket through nginx streamed the run: {outcomes}")


async def _watch_run(base_url: str, started: StartedThread) -> str:
    """Follow the run from seq 1: "completed", or why not."""
    url = base_url.replace("http://", "ws://", 1)
    url += f"/ws/threads/{started.thread_id}/?run_id={started.run_id}&after_seq=0"
    text = ""
    async with connect(
        url,
        origin=Origin(base_url),
        additional_headers={"Cookie": started.cookie_header},
        open_timeout=10,
    ) as socket:
        while True:
            frame: dict[str, Any] = json.loads(await _receive(socket))
            event = frame["event"]
            if event == "thread.message.delta":
                text += frame["data"]["delta"]["content"][0]["text"]["value"]
            elif event == "thread.run.completed":
                assert text == GREETING_REPLY
                return "completed"
            elif event == "resync" or event in TERMINAL or event == "error":
                return f"{event}: {frame['data']}"


async def _receive(socket: Any) -> str | bytes:
    return await asyncio.wait_for(socket.recv(), timeout=10)


def test_the_compose_config_is_the_rendered_template() -> None:
    # deploy/nginx.conf is committed for compose; it must not drift from the template.
    rendered = render_nginx_conf(
        listen="80",
        upstreams=["web1:8000", "web2:8000"],
        static_root="/srv/static",
        temp_dir="/var/cache/nginx",
    )
    assert (REPO / "deploy" / "nginx.conf").read_text() == rendered


def test_stopping_the_stack_leaves_no_process(tmp_path: Path) -> None:
    require_nginx()
    with nginx_in_front([free_port()], tmp_path, log_dir=tmp_path) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        owners = [c.pid for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port]
    assert owners
    assert not [pid for pid in owners if psutil.pid_exists(pid)]
