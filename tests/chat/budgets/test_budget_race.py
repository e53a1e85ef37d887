"""Tabs racing at the edge of a budget, on PostgreSQL: concurrent POSTs, each in its own
thread and database session, cannot reserve more than is left between them."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from assistants_proxy.usage import estimate_prompt_tokens
from chat.models import Assistant, Run, TokenLedger, UserBudget
from tests.chat.test_health import required_url

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
