"""A run that crosses its user's budget mid-stream stops at once, is kept incomplete with the
reason "budget reached", and its partial usage is counted; a run with budget to spare asks
for more as it goes and completes."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from chat.models import Assistant, Message, Run, TokenLedger, UserBudget
from tests.chat.runs.test_engine import run_to_end

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True, params=["assistants", "chat_completions"])
def simulator(transactional_db: None, settings: Any, simulator_url: str, request: Any) -> None:
    settings.SIMULATOR_URL = simulator_url
    settings.BUDGET_RUN_ALLOWANCE_TOKENS = 40
    Assistant.objects.update_or_create(
        is_default=True,
        defaults={"name": "Simulator", "protocol": request.param, "instructions": "", "tools": []},
    )


async def test_a_run_crossing_the_budget_stops_incomplete_and_counts_its_tokens(
    alice: Any,
) -> None:
    await UserBudget.objects.acreate(user=alice, daily_tokens=120)
    run, frames = await run_to_end(alice, "/sim tokens=400 Tell me a long story")
    deltas = [f for f in frames if f["event"] == "thread.message.delta"]
    end = frames[-1]
    assert end["event"] == "thread.run.incomplete"
    assert end["data"]["incomplete_details"] == {"reason": "budget_reached"}
    assert run.status == "incomplete" and run.last_error["code"] == "budget_reached"
    assert 40 < len(deltas) < 120  # stopped near the budget, far before 400 tokens
    reply = await Message.objects.aget(run=run, role="assistant")
    assert reply.status == "incomplete" and reply.content
    ledger = await TokenLedger.objects.aget(user=alice)
    assert ledger.reserved == 0
    assert ledger.day_used == run.total_tokens > 0  # the partial usage, counted


async def test_a_run_with_budget_to_spare_extends_its_holding_and_completes(
    alice: Any,
) -> None:
    await UserBudget.objects.acreate(user=alice, daily_tokens=100_000)
    run, frames = await run_to_end(alice, "/sim tokens=300 Tell me a story")
    assert frames[-1]["event"] == "thread.run.completed"
    assert run.budget_reserved > 300  # it asked for more, several times
    ledger = await TokenLedger.objects.aget(user=alice)
    assert (ledger.reserved, ledger.day_used) == (0, run.total_tokens)


async def test_the_next_run_after_the_budget_is_spent_is_refused(alice: Any) -> None:
    from chat.errors import BudgetExhausted
    from chat.services import run_start

    await UserBudget.objects.acreate(user=alice, daily_tokens=120)
    run, _ = await run_to_end(alice, "/sim tokens=400 Tell me a long story")
    thread = await database_sync_to_async(lambda: Run.objects.get(pk=run.pk).thread)()
    with pytest.raises(BudgetExhausted):
        await database_sync_to_async(run_start)(thread=thread, content="And then?")
