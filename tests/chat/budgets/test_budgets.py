"""Token budgets at a run's start: refused with when it resets, group defaults, the reset at
the period's end, the estimate corrected by the real usage, and the meter."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from chat import services
from chat.budgets.limits import Limits, limits_for
from chat.errors import BudgetExhausted
from chat.models import GroupBudget, Run, TokenLedger, UserBudget
from chat.runs.store import RunOutcome, run_finish

pytestmark = pytest.mark.django_db


def spend(user: User, tokens: int, *, day: dt.date | None = None) -> None:
    today = day or timezone.now().date()
    TokenLedger.objects.update_or_create(
        user=user,
        defaults={
            "day": today,
            "day_used": tokens,
            "month": today.replace(day=1),
            "month_used": tokens,
        },  # fmt: skip
    )


def finish(run: Run, prompt: int, completion: int, *, estimated: bool = False) -> None:
    usage = {"prompt_tokens": prompt, "completion_tokens": completion,
             "total_tokens": prompt + completion}  # fmt: skip
    outcome = RunOutcome(status="completed", usage=usage, usage_estimated=estimated)
    run_finish(run_id=run.pk, outcome=outcome, message_pks={})


def test_a_user_without_a_budget_holds_nothing(alice: User) -> None:
    _, run = services.thread_create(owner=alice, content="Hello")
    assert run.budget_reserved == 0
    finish(run, 40, 10)
    assert TokenLedger.objects.get(user=alice).day_used == 50  # counted all the same


def test_a_run_holds_its_prompt_and_an_allowance(alice: User, settings: Any) -> None:
    settings.BUDGET_RUN_ALLOWANCE_TOKENS = 100
    UserBudget.objects.create(user=alice, daily_tokens=1000)
    _, run = services.thread_create(owner=alice, content="Hello")
    assert 100 < run.budget_reserved < 120
    assert TokenLedger.objects.get(user=alice).reserved == run.budget_reserved


def test_a_spent_daily_budget_refuses_the_post_with_429_and_the_reset(
    alice: User, alice_client: Client, engine: Any
) -> None:
    UserBudget.objects.create(user=alice, daily_tokens=500)
    spend(alice, 500)
    response = alice_client.post("/api/threads/", {"content": "Hi"}, "application/json")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "budget_exhausted"
    assert "daily budget of 500 tokens" in error["message"]
    assert "resets at midnight UTC" in error["message"]
    midnight = dt.datetime.combine(timezone.now().date(), dt.time(), tzinfo=dt.UTC)
    wait = (midnight + dt.timedelta(days=1) - timezone.now()).total_seconds()
    assert abs(int(response["Retry-After"]) - wait) <= 2
    assert not Run.objects.exists() and engine.launched == []


def test_a_message_longer_than_what_is_left_is_refused(alice: User) -> None:
    UserBudget.objects.create(user=alice, monthly_tokens=1000)
    spend(alice, 990)
    with pytest.raises(BudgetExhausted, match="needs about .* monthly budget"):
        services.thread_create(owner=alice, content="word " * 50)


def test_the_budget_resets_when_the_day_ends(alice: User) -> None:
    UserBudget.objects.create(user=alice, daily_tokens=500, monthly_tokens=100_000)
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    spend(alice, 500, day=yesterday)
    TokenLedger.objects.filter(user=alice).update(month=timezone.now().date().replace(day=1))
    _, run = services.thread_create(owner=alice, content="Hello again")
    finish(run, 30, 20)
    ledger = TokenLedger.objects.get(user=alice)
    assert (ledger.day, ledger.day_used) == (timezone.now().date(), 50)
    assert ledger.month_used == 550 and ledger.reserved == 0


def test_the_monthly_budget_resets_when_the_month_ends(alice: User) -> None:
    UserBudget.objects.create(user=alice, monthly_tokens=1000)
    last_month = timezone.now().date().replace(day=1) - dt.timedelta(days=1)
    spend(alice, 1000, day=last_month)
    TokenLedger.objects.filter(user=alice).update(month=last_month.replace(day=1))
    _, run = services.thread_create(owner=alice, content="A new month")
    assert run.budget_reserved > 0
    finish(run, 10, 5)
    ledger = TokenLedger.objects.get(user=alice)
    assert (ledger.month, ledger.month_used) == (timezone.now().date().replace(day=1), 15)


def test_the_real_usage_corrects_the_estimate_when_the_run_ends(alice: User) -> None:
    UserBudget.objects.create(user=alice, daily_tokens=10_000)
    _, run = services.thread_create(owner=alice, content="Hello")
    assert TokenLedger.objects.get(user=alice).reserved == run.budget_reserved > 0
    finish(run, 1138, 11)  # the upstream counted far more than the estimate
    ledger = TokenLedger.objects.get(user=alice)
    assert (ledger.reserved, ledger.day_used) == (0, 1149)


def test_a_run_is_settled_once_however_often_it_is_ended(alice: User) -> None:
    UserBudget.objects.create(user=alice, daily_tokens=10_000)
    _, run = services.thread_create(owner=alice, content="Hello")
    finish(run, 100, 10)
    finish(run, 100, 10)  # a second process settling the same run: nothing more
    assert TokenLedger.objects.get(user=alice).day_used == 110


def test_a_cancelled_orphan_releases_its_reservation(alice: User) -> None:
    UserBudget.objects.create(user=alice, daily_tokens=10_000)
    _, run = services.thread_create(owner=alice, content="Hello")
    services.run_cancel_orphaned(run=services.run_cancel_request(run=run))
    assert TokenLedger.objects.get(user=alice).reserved == 0


def test_deleting_a_thread_mid_reply_releases_what_its_run_held(alice: User) -> None:
    UserBudget.objects.create(user=alice, daily_tokens=10_000)
    thread, run = services.thread_create(owner=alice, content="Hello")
    assert TokenLedger.objects.get(user=alice).reserved == run.budget_reserved > 0
    services.thread_delete(thread=thread)
    assert TokenLedger.objects.get(user=alice).reserved == 0


def test_a_group_default_applies_and_the_users_own_limit_wins(alice: User, bob: User) -> None:
    staff, trial = Group.objects.create(name="staff"), Group.objects.create(name="trial")
    GroupBudget.objects.create(group=staff, daily_tokens=5000, monthly_tokens=None)
    GroupBudget.objects.create(group=trial, daily_tokens=1000, monthly_tokens=20_000)
    alice.groups.add(staff, trial)
    bob.groups.add(trial)
    # The most generous group: staff's 5000 a day, and no monthly limit (staff sets none).
    assert limits_for(alice.pk) == Limits(daily=5000, monthly=None)
    assert limits_for(bob.pk) == Limits(daily=1000, monthly=20_000)
    UserBudget.objects.create(user=bob, daily_tokens=50)
    assert limits_for(bob.pk) == Limits(daily=50, monthly=20_000)


def test_the_meter_shows_what_is_left_and_warns_from_80_percent(
    alice: User, alice_client: Client
) -> None:
    assert alice_client.get("/api/budget/").json() == {"periods": []}
    UserBudget.objects.create(user=alice, daily_tokens=1000, monthly_tokens=100_000)
    spend(alice, 800)
    periods = alice_client.get("/api/budget/").json()["periods"]
    daily, monthly = periods
    assert (daily["period"], daily["left"], daily["warning"]) == ("daily", 200, True)
    assert (monthly["used"], monthly["warning"]) == (800, False)
    assert daily["resets_at"].endswith("T00:00:00Z")


def test_the_meter_needs_a_login() -> None:
    assert Client().get("/api/budget/").status_code == 401
