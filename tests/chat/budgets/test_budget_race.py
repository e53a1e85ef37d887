"""Tabs racing at the edge of a budget, on PostgreSQL: concurrent POSTs, each in its own
thread and database session, or over HTTP to two server processes, cannot reserve more than
is left between them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from assistants_proxy.usage import estimate_prompt_tokens
from chat.models import Assistant, Run, TokenLedger, UserBudget
from tests.chat.conftest import PASSWORD
from tests.chat.test_health import required_url
from tests.deploy.topology import app_env, daphne_process, free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

TABS = 8


@pytest.fixture(autouse=True)
def assistant(transactional_db: None) -> Assistant:
    # A transactional test's flush takes the migrations' default assistant with it.
    return Assistant.objects.get_or_create(is_default=True, defaults={"name": "Simulator"})[0]


def post_at_once(user: User, count: int) -> list[int]:
    """`count` new-thread POSTs released together; their HTTP statuses."""
    barrier = threading.Barrier(count)
    statuses: list[int] = []

    def tab(index: int) -> None:
        client = Client()
        client.force_login(user)
        barrier.wait()
        try:
            body = {"content": f"Tab {index} says hello"}
            statuses.append(client.post("/api/threads/", body, "application/json").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tab, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


def test_racing_tabs_cannot_reserve_more_than_is_left(
    alice: User, engine: Any, settings: Any
) -> None:
    required_url("DATABASE_URL")
    assert connection.vendor == "postgresql"
    settings.BUDGET_RUN_ALLOWANCE_TOKENS = 30
    UserBudget.objects.create(user=alice, daily_tokens=100)
    statuses = post_at_once(alice, TABS)
    held = list(Run.objects.values_list("budget_reserved", flat=True))
    ledger = TokenLedger.objects.get(user=alice)
    # Each run holds its prompt and 30 more while 100 lasts; the last one what is left
    # when that still covers its prompt; every other tab is refused.
    prompt = estimate_prompt_tokens([{"content": "Tab 1 says hello"}])
    full, rest = divmod(100, prompt + 30)
    started = full + (rest > prompt)
    assert sorted(statuses) == [201] * started + [429] * (TABS - started)
    assert sum(held) == ledger.reserved == full * (prompt + 30) + (rest if rest > prompt else 0)


def test_the_last_tokens_go_to_one_tab_only(alice: User, engine: Any) -> None:
    required_url("DATABASE_URL")
    UserBudget.objects.create(user=alice, daily_tokens=1000)
    today = timezone.now().date()
    TokenLedger.objects.create(user=alice, day=today, day_used=980, month=today.replace(day=1))
    statuses = post_at_once(alice, 2)
    assert sorted(statuses) == [201, 429]
    assert TokenLedger.objects.get(user=alice).reserved == 20


# -- over HTTP, across two server processes --------------------------------------------------


@pytest.fixture
def two_servers(tmp_path: Path, simulator_url: str) -> Iterator[list[str]]:
    """Two daphne processes on this test's PostgreSQL database: two tabs of one user may be
    served by different processes."""
    database = required_url("DATABASE_URL")
    name = connection.settings_dict["NAME"]
    env = app_env(
        DATABASE_URL=database.rsplit("/", 1)[0] + f"/{name}",
        SIMULATOR_URL=simulator_url,
        SECRET_KEY="test-only-secret-key",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        BUDGET_RUN_ALLOWANCE_TOKENS="30",
    )
    ports = [free_port(), free_port()]
    with (
        daphne_process(ports[0], env, log_dir=tmp_path),
        daphne_process(ports[1], env, log_dir=tmp_path),
    ):
        yield [f"http://127.0.0.1:{port}" for port in ports]


async def logged_in(base_url: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base_url, timeout=20)
    await client.get("/accounts/login/")
    token = client.cookies["csrftoken"]
    form = {"csrfmiddlewaretoken": token, "username": "alice", "password": password}
    await client.post("/accounts/login/", data=form)
    assert "sessionid" in client.cookies
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    return client


async def test_tabs_on_two_processes_race_over_http_and_cannot_overspend(
    alice: User, two_servers: list[str]
) -> None:
    from asgiref.sync import sync_to_async

    # Hashed as the servers hash (the tests' settings use a fast hasher they do not know).
    alice.password = PBKDF2PasswordHasher().encode(PASSWORD, "racing-salt", iterations=1000)
    await sync_to_async(alice.save)()
    await sync_to_async(UserBudget.objects.create)(user=alice, daily_tokens=100)
    tabs = [await logged_in(two_servers[i % 2], PASSWORD) for i in range(TABS)]
    body = {"content": "/sim tokens=500 rate=2 Tab says hello"}
    answers = await asyncio.gather(*(tab.post("/api/threads/", json=body) for tab in tabs))
    statuses = sorted(answer.status_code for answer in answers)
    held = await sync_to_async(
        lambda: list(Run.objects.values_list("budget_reserved", flat=True))
    )()
    ledger = await sync_to_async(TokenLedger.objects.get)(user=alice)
    prompt = estimate_prompt_tokens([{"content": body["content"]}])
    full, rest = divmod(100, prompt + 30)
    started = full + (rest > prompt)
    assert statuses == [201] * started + [429] * (TABS - started)
    assert sum(held) == ledger.reserved <= 100
    for tab in tabs:
        await tab.aclose()
