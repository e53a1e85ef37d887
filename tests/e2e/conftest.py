"""The real app in a subprocess, and real Chromium driving it.

The browser tests never touch pytest-django's test database: `app_server` migrates a fresh
SQLite file, serves the whole ASGI app with daphne on a free port (the simulator upstream is
mounted in the same app at /sim/), and the tests only talk to it over HTTP and WebSocket.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, sync_playwright

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0
# Variables that would point the app at shared services (the CI's PostgreSQL and Redis);
# the browser tests run the laptop topology: SQLite, in-memory channel layer, mounted simulator.
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "SIMULATOR_URL", "SIMULATOR_MOUNT")


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _missing(reason: str) -> None:
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env(sqlite_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env.update(
        SECRET_KEY="e2e-only-secret-key",
        DEBUG="1",
        SQLITE_PATH=str(sqlite_path),
        PORT=str(port),
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    return env


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


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT``) of the real app served by daphne."""
    if not shutil.which(chromium_path()):
        _missing(f"Chromium not found at {chromium_path()} (set CHROMIUM_PATH)")
    workdir = tmp_path_factory.mktemp("e2e-app")
    port = _free_port()
    env = _server_env(workdir / "db.sqlite3", port)
    migrate = [sys.executable, "manage.py", "migrate", "--noinput"]
    done = subprocess.run(migrate, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{done.stdout}\n{done.stderr}")
    log = workdir / "server.log"
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [*command, "config.asgi:application"],
            cwd=REPO,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{base}/accounts/login/", process, log)
        yield base
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def browser(app_server: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page_errors() -> list[str]:
    """Uncaught exceptions and console errors of the page; tests assert it stays empty."""
    return []


@pytest.fixture
def page(browser: Browser, app_server: str, page_errors: list[str]) -> Iterator[Page]:
    context = browser.new_context(base_url=app_server)
    page = context.new_page()
    page.set_default_timeout(15_000)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            page_errors.append(message.text)

    def uncaught(error: Error) -> None:
        page_errors.append(f"uncaught: {error}")

    page.on("console", console)
    page.on("pageerror", uncaught)
    yield page
    context.close()
