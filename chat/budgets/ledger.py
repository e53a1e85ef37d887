"""Reserve, extend and settle tokens against a user's budget.

A run reserves tokens when it starts (`budget_reserve`, in the transaction that creates it),
with the user's `TokenLedger` row locked (SELECT ... FOR UPDATE): two tabs racing at the edge
of a budget queue up on that row, and the second sees what the first reserved. A run may use
only what it holds; the executing process counts tokens in memory and, when a run reaches
what it holds, asks for more (`budget_extend`, once per BUDGET_RUN_ALLOWANCE_TOKENS, never per
token). When the run ends, `budget_settle` releases its reservation and counts its real usage
(the upstream's, or the estimate when it reported none) in the transaction that stores it.
The sum of what active runs hold never exceeds what is left, so concurrent runs cannot
overspend; a run can pass its holding by the one token that crossed it, and by the
difference between the estimate and the upstream's count, which settling corrects.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from chat.budgets import periods
from chat.budgets.limits import Limits, limits_for
from chat.errors import BudgetExhausted
from chat.models import Run, TokenLedger


def budget_reserve(*, user_id: int, prompt_tokens: int) -> int:
    """Tokens reserved for a run about to start (0: the user has no budget); in the caller's
    transaction. BudgetExhausted when what is left cannot cover the prompt."""
    limits = limits_for(user_id)
    if limits.unlimited:
        return 0
    now = timezone.now()
    ledger = _locked_ledger(user_id, now)
    left, period = headroom(ledger, limits, now)
    if left <= prompt_tokens:
        raise _exhausted(ledger, limits, now, period, needed=prompt_tokens)
    grant = min(left, prompt_tokens + settings.BUDGET_RUN_ALLOWANCE_TOKENS)
    _execute(f"UPDATE {_TABLE} SET reserved = reserved + %s WHERE user_id = %s", [grant, user_id])
    return grant


def budget_extend(*, run_id: int, want: int) -> int:
    """More tokens for a running run that used what it holds: up to `want`, 0 when the
    budget is spent (the run then stops)."""
    with transaction.atomic():
        user_id = Run.objects.values_list("thread__owner_id", flat=True).get(pk=run_id)
        limits = limits_for(user_id)
        if limits.unlimited:
            return want  # the operator lifted the budget meanwhile
        ledger = _locked_ledger(user_id, timezone.now())
        grant = max(0, min(headroom(ledger, limits, timezone.now())[0], want))
        if grant:
            TokenLedger.objects.filter(pk=user_id).update(reserved=F("reserved") + grant)
            Run.objects.filter(pk=run_id).update(budget_reserved=F("budget_reserved") + grant)
        return grant


def budget_settle(*, user_id: int, reserved: int, used: int, now: dt.datetime) -> None:
    """Release a run's reservation and count its usage, in one statement (an upsert: a user
    without a budget gets a ledger row too, so a budget set later counts today's usage)."""
    table = TokenLedger._meta.db_table
    day = periods.today(now)
    sql = f"""
        INSERT INTO {table} (user_id, day, day_used, month, month_used, reserved)
        VALUES (%s, %s, %s, %s, %s, 0)
        ON CONFLICT (user_id) DO UPDATE SET
          day_used = CASE WHEN {table}.day = excluded.day THEN {table}.day_used ELSE 0 END
                     + excluded.day_used,
          month_used = CASE WHEN {table}.month = excluded.month THEN {table}.month_used
                       ELSE 0 END + excluded.month_used,
          day = excluded.day,
          month = excluded.month,
          reserved = CASE WHEN {table}.reserved > %s THEN {table}.reserved - %s ELSE 0 END
    """
    params: list[Any] = [user_id, day, used, periods.month_start(day), used, reserved, reserved]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def headroom(ledger: TokenLedger, limits: Limits, now: dt.datetime) -> tuple[int, str]:
    """Tokens left in the tighter of the two periods, after active runs' reservations, and
    which period that is ("daily" or "monthly")."""
    day_used, month_used = used_now(ledger, now)
    options = []
    if limits.daily is not None:
        options.append((limits.daily - day_used - ledger.reserved, "daily"))
    if limits.monthly is not None:
        options.append((limits.monthly - month_used - ledger.reserved, "monthly"))
    return min(options)


def used_now(ledger: TokenLedger | None, now: dt.datetime) -> tuple[int, int]:
    """Tokens used today and this month (a ledger last touched in an earlier period: 0)."""
    if ledger is None:
        return 0, 0
    day = periods.today(now)
    day_used = ledger.day_used if ledger.day == day else 0
    month_used = ledger.month_used if ledger.month == periods.month_start(day) else 0
    return day_used, month_used


_TABLE = TokenLedger._meta.db_table
_COLUMNS = ("user_id", "day", "day_used", "month", "month_used", "reserved")


def _locked_ledger(user_id: int, now: dt.datetime) -> TokenLedger:
    """The user's ledger row, locked until the transaction ends (SELECT ... FOR UPDATE;
    SQLite has no such clause: its write transactions are serialised whole). Raw SQL: this
    runs at every run's start, where the ORM's building of the query cost more than it."""
    ledger = _select_for_update(user_id)
    if ledger is not None:
        return ledger
    day = periods.today(now)
    # Two first runs at once: one INSERT wins, the other does nothing; both then lock it.
    TokenLedger.objects.bulk_create(
        [TokenLedger(user_id=user_id, day=day, month=periods.month_start(day))],
        ignore_conflicts=True,
    )
    ledger = _select_for_update(user_id)
    assert ledger is not None
    return ledger


def _select_for_update(user_id: int) -> TokenLedger | None:
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = f"SELECT {', '.join(_COLUMNS)} FROM {_TABLE} WHERE user_id = %s{lock}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id])
        row = cursor.fetchone()
    return None if row is None else TokenLedger(**dict(zip(_COLUMNS, row, strict=True)))


def _execute(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _exhausted(
    ledger: TokenLedger, limits: Limits, now: dt.datetime, period: str, *, needed: int
) -> BudgetExhausted:
    limit = limits.daily if period == "daily" else limits.monthly
    resets = periods.day_reset(now) if period == "daily" else periods.month_reset(now)
    used = used_now(ledger, now)[0 if period == "daily" else 1]
    when = f"It resets at midnight UTC, {periods.in_words(resets - now)}."
    if used >= (limit or 0):
        why = f"You have used your {period} budget of {limit:,} tokens."
    elif ledger.reserved:
        why = f"Your replies still being written hold the rest of your {period} budget."
    else:
        why = (f"This message needs about {needed:,} tokens, more than is left of your "
               f"{period} budget of {limit:,}.")  # fmt: skip
    retry = max(1, int((resets - now).total_seconds()) + 1)
    return BudgetExhausted(f"{why} {when}", retry_after=retry)
