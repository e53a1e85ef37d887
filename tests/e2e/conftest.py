"""The real app in a subprocess, and real Chromium driving it.

The browser tests never touch pytest-django's test database: `app_server` migrates a fresh
SQLite file, serves the whole ASGI app with daphne on a free port (`appserver.py`; the
simulator upstream is mounted in the same app at /sim/), and the tests only talk to it over
HTTP and WebSocket.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, sync_playwright

from tests.e2e.another_site import AnotherSite, another_site
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
# An administrator, for the admin's pages.
ADMIN_PASSWORD = "admin-correct-horse-battery-9"
ADMIN = f"""
from django.contrib.auth.models import User
User.objects.create_superuser("admin", "admin@example.com", {ADMIN_PASSWORD!r})
"""
# An assistant whose upstream is another site (`another_site.py`): its replies show a remote
# image, as a prompt-injected reply would.
ANOTHER_SITE_ASSISTANT = """
from chat.models import Assistant
Assistant.objects.create(
    name="Another site", protocol="chat_completions", model="another-model", base_url={url!r}
)
"""


def log_in_as_admin(page: Page) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _missing(reason: str) -> None:
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
    pytest.skip(reason)


# What the fake Open-Meteo answers: one known place, and its current weather.
PARIS = {"name": "Paris", "country": "France", "latitude": 48.85341, "longitude": 2.3488}
PARIS_NOW = {"temperature_2m": 18.5, "weather_code": 2, "wind_speed_10m": 11.2}


@dataclass
class WeatherApi:
    """A stand-in for Open-Meteo's geocoding and forecast APIs (the one third-party web API
    the app calls), on a loopback port; `requests` records each request's path and query."""

    url: str
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)


class _WeatherHandler(BaseHTTPRequestHandler):
    api: WeatherApi

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        url = urlparse(self.path)
        query = parse_qs(url.query)
        self.api.requests.append((url.path, query))
        if url.path == "/v1/search":
            # Open-Meteo leaves "results" out when nothing matches.
            found = query.get("name") == [PARIS["name"]]
            self._json(200, {"results": [PARIS], "generationtime_ms": 0.5} if found else {})
        elif url.path == "/v1/forecast":
            self._json(200, {"latitude": PARIS["latitude"], "current": PARIS_NOW})
        else:
            self._json(404, {"error": True, "reason": "Not Found"})

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # the test reads `requests`; stderr stays quiet


@pytest.fixture(scope="session")
def weather_api() -> Iterator[WeatherApi]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WeatherHandler)
    api = WeatherApi(f"http://127.0.0.1:{server.server_address[1]}")
    _WeatherHandler.api = api
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield api
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def other_site() -> Iterator[AnotherSite]:
    with another_site() as site:
        yield site


@pytest.fixture(scope="session")
def app_server(
    tmp_path_factory: pytest.TempPathFactory, weather_api: WeatherApi, other_site: AnotherSite
) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT``) of the real app served by daphne, its weather
    tool pointed at the fake Open-Meteo, with an assistant answered by `other_site`."""
    if not shutil.which(chromium_path()):
        _missing(f"Chromium not found at {chromium_path()} (set CHROMIUM_PATH)")
    workdir = tmp_path_factory.mktemp("e2e-app")
    env = {
        "WEATHER_GEOCODING_URL": f"{weather_api.url}/v1/search",
        "WEATHER_FORECAST_URL": f"{weather_api.url}/v1/forecast",
    }
    another = ANOTHER_SITE_ASSISTANT.format(url=f"{other_site.url}/v1")
    with running_app(workdir, env=env, setup=[MORE_ASSISTANTS, another, ADMIN]) as app:
        yield app.url


@pytest.fixture(scope="module")
def browser(app_server: str) -> Iterator[Browser]:
    # Per module, not per session: Playwright's sync API keeps its event loop marked as
    # running in the main thread while it is open, and every async test collected after the
    # browser tests would then fail to start its own.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        yield browser
        browser.close()


@pytest.fixture(params=["light", "dark"])
def scheme(request: pytest.FixtureRequest, page: Page) -> str:
    """Runs the test in the light and in the dark theme (prefers-color-scheme emulated before
    the first page loads, as a visitor's system setting would be)."""
    page.emulate_media(color_scheme=request.param)
    return str(request.param)


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
