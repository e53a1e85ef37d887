"""The real app in a subprocess, and real Chromium driving it.

The browser tests never touch pytest-django's test database: `app_server` migrates a fresh
SQLite file, serves the whole ASGI app with daphne on a free port (`appserver.py`; the
simulator upstream is mounted in the same app at /sim/), and the tests only talk to it over
HTTP and WebSocket.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, sync_playwright

from tests.e2e.appserver import running_app

# Assistants beside the migration's default "Simulator" (Assistants API): the same built-in
# simulator spoken to over Chat Completions and over the Responses API, so that picking an
# assistant changes what answers, and the stateless protocols' reasoning and refusals show.
MORE_ASSISTANTS = """
from chat.models import Assistant
seed = Assistant.objects.get(is_default=True)
for name, protocol, model in [
    ("Chat simulator", "chat_completions", "sim-chat"),
    ("Responses simulator", "responses", "sim-responses"),
]:
    Assistant.objects.create(
        name=name, protocol=protocol, model=model, instructions=seed.instructions, tools=seed.tools
    )
"""


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _missing(reason: str) -> None:
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT``) of the real app served by daphne."""
    if not shutil.which(chromium_path()):
        _missing(f"Chromium not found at {chromium_path()} (set CHROMIUM_PATH)")
    workdir = tmp_path_factory.mktemp("e2e-app")
    with running_app(workdir, setup=[MORE_ASSISTANTS]) as app:
        yield app.url


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
