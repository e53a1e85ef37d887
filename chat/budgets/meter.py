"""What a user is shown of their budget: per period, the limit, what is used and when it
resets; a warning from 80 % on."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from chat.budgets import periods
from chat.budgets.ledger import used_now
from chat.budgets.limits import limits_for
from chat.models import TokenLedger

WARNING_SHARE = 0.8


def budget_meter(*, user_id: int) -> list[dict[str, Any]]:
    """One entry per limited period (none for a user without a budget)."""
    limits = limits_for(user_id)
    if limits.unlimited:
        return []
    now = timezone.now()
    day_used, month_used = used_now(TokenLedger.objects.filter(pk=user_id).first(), now)
    entries = []
    if limits.daily is not None:
        entries.append(_entry("daily", limits.daily, day_used, periods.day_reset(now)))
    if limits.monthly is not None:
        entries.append(_entry("monthly", limits.monthly, month_used, periods.month_reset(now)))
    return entries


def _entry(period: str, limit: int, used: int, resets_at: dt.datetime) -> dict[str, Any]:
    return {
        "period": period,
        "limit": limit,
        "used": used,
        "left": max(0, limit - used),
        "resets_at": resets_at.isoformat().replace("+00:00", "Z"),
        "warning": used >= WARNING_SHARE * limit,
    }
