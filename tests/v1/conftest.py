"""The Assistants API under /v1/, spoken to by the official `openai` SDK over real HTTP.

`v1_app` is the app as deployed (daphne, a fresh SQLite file, the simulator mounted at /sim:
`tests/e2e/appserver.py`), shared by the session. Its operator offers one model per upstream
protocol, all answered by the mounted simulator: `gpt-4o` (Assistants), `sim-chat` (Chat
Completions) and `sim-responses` (Responses). alice and bob each get a key from
`manage.py create_api_key`, the command under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.e2e.appserver import RunningApp, running_app
from tests.v1.support import create_key, sdk

PASSWORD = "v1-tests-password-7"  # alice and bob log in to the web chat with it

SETUP = f"""
from django.contrib.auth.models import User
from chat.models import Assistant
for name in ("alice", "bob"):
    User.objects.create_user(name, f"{{name}}@example.com", {PASSWORD!r})
Assistant.objects.create(name="Sim chat", protocol="chat_completions", model="sim-chat")
Assistant.objects.create(name="Sim responses", protocol="responses", model="sim-responses")
"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The SDK warns that the Assistants API is deprecated upstream: that is why this exists.
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.filterwarnings("ignore::DeprecationWarning"))


@pytest.fixture(scope="session")
def v1_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    env = {
        "RUNS_PER_MINUTE": "1000",
        "CLIENT_TOOL_WAIT_SECONDS": "20",
        # The server's own get_weather reaches no weather service: its error goes back to
        # the model, which answers anyway (port 9 refuses at once).
        "WEATHER_GEOCODING_URL": "http://127.0.0.1:9/v1/search",
        "WEATHER_FORECAST_URL": "http://127.0.0.1:9/v1/forecast",
    }
    with running_app(tmp_path_factory.mktemp("v1-app"), env=env, setup=[SETUP]) as app:
        yield app


@pytest.fixture(scope="session")
def alice_key(v1_app: RunningApp) -> str:
    return create_key(v1_app, "alice")


@pytest.fixture(scope="session")
def bob_key(v1_app: RunningApp) -> str:
    return create_key(v1_app, "bob")


@pytest.fixture
def alice_sdk(v1_app: RunningApp, alice_key: str) -> Iterator[openai.OpenAI]:
    with sdk(v1_app, alice_key) as client:
        yield client


@pytest.fixture
def bob_sdk(v1_app: RunningApp, bob_key: str) -> Iterator[openai.OpenAI]:
    with sdk(v1_app, bob_key) as client:
        yield client


@pytest.fixture
def raw_alice(v1_app: RunningApp, alice_key: str) -> Iterator[httpx.Client]:
    """Plain HTTP with alice's key, to read what the SDK hides (the wire, error bodies)."""
    headers = {"Authorization": f"Bearer {alice_key}", "OpenAI-Beta": "assistants=v2"}
    with httpx.Client(base_url=f"{v1_app.url}/v1", headers=headers, timeout=30) as client:
        yield client
