"""The real app in a subprocess, as it is deployed: a freshly migrated SQLite file, the whole
ASGI app served by daphne on a free loopback port.

Used by the browser tests (`conftest.py`) and by tests that need the production server's
socket behaviour (`tests/chat/test_resume_random.py`). The tests only talk to it over HTTP
and WebSocket, and may read its SQLite file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0
# Variables that would point the app at shared services (the CI's PostgreSQL and Redis);
# these tests run the laptop topology: SQLite, in-memory channel layer, mounted simulator.
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "SIMULATOR_URL", "SIMULATOR_MOUNT")


@dataclass(frozen=True)
class RunningApp:
    url: str  # http://127.0.0.1:PORT
    sqlite_path: Path
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(sqlite_path: Path, port: int, extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env.update(
        SECRET_KEY="e2e-only-secret-key",
        DEBUG="1",
        SQLITE_PATH=str(sqlite_path),
        PORT=str(port),
        DJANGO_SETTINGS_MODULE="config.settings",
        # Every test signs up users of its own, all from 127.0.0.1.
        SIGNUPS_PER_HOUR="1000",
    )
    env.update(extra)
    return env


@contextmanager
def running_app(
    workdir: Path, *, env: Mapping[str, str] | None = None, setup: Sequence[str] = ()
) -> Iterator[RunningApp]:
    """Migrate a fresh database in `workdir` and serve the app until the block ends.

    `env` adds or overrides environment variables of the app process (e.g. the weather
    API's URLs); `setup` is Python run with `manage.py shell -c` before the server starts
    (e.g. to add assistants)."""
    server = AppServer(workdir, env=env)
    server.prepare(setup)
    server.start()
    try:
        yield server.app
    finally:
        server.stop()


class AppServer:
    """The app's daphne process over one SQLite file, which can be stopped (or killed) and
    started again on the same port and database, as a supervisor or a person does."""

    def __init__(self, workdir: Path, *, env: Mapping[str, str] | None = None) -> None:
        self.port = free_port()
        sqlite_path = workdir / "db.sqlite3"
        self.env = server_env(sqlite_path, self.port, env or {})
        self.app = RunningApp(f"http://127.0.0.1:{self.port}", sqlite_path, workdir / "server.log")
        self.process: subprocess.Popen[bytes] | None = None

    def prepare(self, setup: Sequence[str] = ()) -> None:
        _manage(self.env, "migrate", "--noinput")
        for code in setup:
            _manage(self.env, "shell", "-c", code)

    def start(self, *, probe: bool = True) -> None:
        """Serve, and wait until the login page answers; without `probe`, only until the port
        takes connections, so that the first request is a client's (a browser reconnecting)."""
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
        with self.app.log.open("ab") as log_file:
            self.process = subprocess.Popen(
                [*command, "config.asgi:application"],
                cwd=REPO,
                env=self.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        if probe:
            _wait_ready(f"{self.app.url}/accounts/login/", self.process, self.app.log)
        else:
            _wait_listening(self.port, self.process, self.app.log)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind, as the OOM killer or a power cut does it."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)


def _manage(env: Mapping[str, str], *args: str) -> None:
    command = [sys.executable, "manage.py", *args]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:1])} failed:\n{done.stdout}\n{done.stderr}")


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the app was not ready within {STARTUP_TIMEOUT:.0f} s:\n{log.read_text()}")


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}:\n{log.read_text()}")
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the app did not listen within {STARTUP_TIMEOUT:.0f} s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
