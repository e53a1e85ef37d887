"""Real processes on loopback for the benchmarks: the simulator, the app under daphne, and
logged-in HTTP and WebSocket clients."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import psutil
import websockets

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
USERNAME, PASSWORD = "bench", "bench-password-123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:g} s")


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:g} s")


@contextmanager
def process(
    command: list[str], *, env: dict[str, str], ready_url: str, root: Path = ROOT
) -> Iterator[psutil.Process]:
    with bench_log() as log:
        proc = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=log)
        try:
            wait_http(ready_url)
            yield psutil.Process(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def bench_log() -> Iterator[IO[bytes] | int]:
    """Where a benchmark's server processes write: BENCH_LOG=path keeps their output for
    debugging (appended), else it is dropped."""
    if not os.environ.get("BENCH_LOG"):
        yield subprocess.DEVNULL
        return
    with open(os.environ["BENCH_LOG"], "ab") as log:
        yield log


@contextmanager
def simulator(*, rate: float = 30.0) -> Iterator[tuple[str, psutil.Process]]:
    port = free_port()
    command = [
        PYTHON,
        "-m",
        "assistants_proxy",
        "simulate",
        "--port",
        str(port),
        "--rate",
        str(rate),
    ]
    url = f"http://127.0.0.1:{port}"
    with process(command, env=dict(os.environ), ready_url=url + "/v1/assistants/x") as proc:
        yield url + "/v1", proc


def app_env(
    sim_url: str, db_path: str | None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The app's environment for a benchmark: SQLite at `db_path`, or what `extra` says (a
    DATABASE_URL, a REDIS_URL: none is taken from the calling environment)."""
    drop = ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    if db_path is not None:
        env["SQLITE_PATH"] = db_path
    env.update(
        SECRET_KEY="bench-only-secret",
        DEBUG="0",
        SIMULATOR_MOUNT="0",
        SIMULATOR_URL=sim_url,
        LOG_LEVEL="WARNING",
        RUNS_PER_MINUTE="1000000",
        WS_MAX_SOCKETS_PER_USER="1000000",  # one user holds every benchmark socket
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
    )
    env.update(extra or {})
    return env


SERVERS = {
    "daphne": ["-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", "config.asgi:application"],
    "uvicorn": [
        "-m",
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--log-level",
        "warning",
        "--no-access-log",
        "config.asgi:application",
    ],
}


@contextmanager
def app(
    sim_url: str,
    *,
    extra_env: dict[str, str] | None = None,
    server: str = "daphne",
    root: Path = ROOT,
) -> Iterator[tuple[str, psutil.Process]]:
    """The app in one server process, with a migrated SQLite database and a bench user; `root`
    is another checkout of the project to run instead of this one (to compare commits)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = app_env(sim_url, str(Path(tmp) / "bench.sqlite3"), extra_env)
        manage = [PYTHON, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=root, env=env, check=True)
        create = (
            "from django.contrib.auth.models import User; "
            f"User.objects.create_user({USERNAME!r}, '', {PASSWORD!r})"
        )
        subprocess.run([*manage, "shell", "-c", create], cwd=root, env=env, check=True)
        port = free_port()
        command = [PYTHON, *(arg.format(port=port) for arg in SERVERS[server])]
        base = f"http://127.0.0.1:{port}"
        with process(command, env=env, ready_url=base + "/accounts/login/", root=root) as proc:
            yield base, proc


async def login(base: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    client = httpx.AsyncClient(base_url=base, timeout=30.0, limits=limits)
    await client.get("/accounts/login/")
    token = client.cookies["csrftoken"]
    response = await client.post(
        "/accounts/login/",
        data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    if response.status_code != 302:
        raise RuntimeError(f"login failed: {response.status_code}")
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    return client


async def post_json(
    client: httpx.AsyncClient, path: str, body: dict[str, object]
) -> dict[str, object]:
    response = await client.post(path, json=body)
    if response.status_code >= 400:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:200]}")
    return dict(response.json())


async def open_socket(client: httpx.AsyncClient, thread_id: int) -> websockets.ClientConnection:
    base = str(client.base_url)
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    url = base.replace("http", "ws", 1).rstrip("/") + f"/ws/threads/{thread_id}/"
    return await websockets.connect(
        url, additional_headers={"Cookie": cookie, "Origin": base}, max_size=None, compression=None
    )


def load_average() -> str:
    """The machine's load average over 1, 5 and 15 minutes, for a report: other work on the
    machine changes every timing."""
    return " ".join(f"{load:.2f}" for load in os.getloadavg())
