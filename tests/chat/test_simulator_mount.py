"""The simulator mounted at /sim (`config/simulator_mount.py`): only when DEBUG or the operator
says so, and then only for logged-in users and this app's own runs, which send the key derived
from SECRET_KEY (`chat.simulator_key`)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings

from chat.models import Assistant
from chat.simulator_key import simulator_key
from config.simulator_mount import mount_simulator
from tests.deploy.topology import app_env, daphne_process, free_port
from tests.test_deploy import production_env, run_manage

pytestmark = pytest.mark.django_db(transaction=True)
COMPLETION = {"model": "sim", "messages": [{"role": "user", "content": "Hello"}]}


async def behind(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """What the mount stands in front of: the rest of the site."""
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b"the site"})


async def ask_simulator(settings: Settings, **headers: str) -> httpx.Response:
    settings.SIMULATOR_MOUNT = True
    transport = httpx.ASGITransport(app=mount_simulator(behind))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.post("/sim/v1/chat/completions", json=COMPLETION, headers=headers)


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer anything"}, {"Authorization": "Basic c2ltOnNpbQ=="}],
    ids=["anonymous", "wrong_key", "not_bearer"],
)
async def test_an_anonymous_caller_is_refused_by_the_mounted_simulator(
    settings: Settings, headers: dict[str, str]
) -> None:
    response = await ask_simulator(settings, **headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


async def test_the_apps_own_key_is_answered(settings: Settings) -> None:
    response = await ask_simulator(settings, Authorization=f"Bearer {simulator_key()}")
    assert response.status_code == 200, response.text
    assert response.json()["object"] == "chat.completion"


async def test_a_logged_in_user_is_answered(alice: User, settings: Settings) -> None:
    cookie = await sync_to_async(session_cookie)(alice)
    response = await ask_simulator(settings, Cookie=cookie)
    assert response.status_code == 200, response.text


async def test_the_key_follows_the_secret_key(settings: Settings) -> None:
    old = simulator_key()
    settings.SECRET_KEY = secrets.token_urlsafe(50)
    assert simulator_key() != old
    response = await ask_simulator(settings, Authorization=f"Bearer {old}")
    assert response.status_code == 401


def test_not_enabled_the_mount_is_the_site(settings: Settings) -> None:
    settings.SIMULATOR_MOUNT = False
    assert mount_simulator(behind) is behind


def test_runs_of_the_built_in_simulator_carry_the_key() -> None:
    assert Assistant(base_url="").api_key() == simulator_key()
    assert Assistant(base_url="https://api.openai.com/v1").api_key() is None


def test_a_production_process_does_not_mount_the_simulator(tmp_path: Path) -> None:
    env = app_env(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
    )
    port = free_port()
    with daphne_process(port, env, log_dir=tmp_path), httpx.Client(timeout=10) as client:
        response = client.post(f"http://127.0.0.1:{port}/sim/v1/chat/completions", json=COMPLETION)
    assert response.status_code == 404
    assert "chat.completion" not in response.text


def test_the_deploy_check_warns_when_the_simulator_is_mounted() -> None:
    result = run_manage(
        production_env(SIMULATOR_MOUNT="1"), "check", "--deploy", "--fail-level", "WARNING"
    )
    assert result.returncode != 0
    assert "config.W002" in result.stderr
