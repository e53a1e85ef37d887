"""The per-day usage tables, added to as each run ends and rebuilt from runs on demand.

`usage_add` runs in the transaction that stores the run's final usage: two upserts that add
to the day's rows (`UPDATE ... SET x = x + ...`), never a rescan. `usage_rebuild` recomputes
both tables from the runs (`manage.py rebuild_usage`), for data from before the tables
existed or after a manual repair.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from chat.models import Run
from chat.ops_models import UsageDay, UsageDayTotal


@dataclass(frozen=True)
class Ended:
    """A run's usage as it ended, for the tables."""

    day: dt.date
    user_id: int
    assistant_id: int
    model: str
    prompt_tokens: int
    completion_tokens: int


def usage_add(ended: Ended) -> None:
    tokens: list[Any] = [ended.prompt_tokens, ended.completion_tokens]
    detail = UsageDay._meta.db_table
    key: list[Any] = [ended.day, ended.user_id, ended.assistant_id, ended.model]
    _upsert(detail, "day, user_id, assistant_id, model", [*key, *tokens])
    _upsert(UsageDayTotal._meta.db_table, "day", [ended.day, *tokens])


def _upsert(table: str, key: str, params: list[Any]) -> None:
    marks = ", ".join(["%s"] * (len(params) + 1))
    sql = f"""
        INSERT INTO {table} ({key}, prompt_tokens, completion_tokens, runs) VALUES ({marks})
        ON CONFLICT ({key}) DO UPDATE SET
          prompt_tokens = {table}.prompt_tokens + excluded.prompt_tokens,
          completion_tokens = {table}.completion_tokens + excluded.completion_tokens,
          runs = {table}.runs + 1
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, 1])


def usage_rebuild() -> tuple[int, int]:
    """Both tables recomputed from the ended runs, in one transaction; returns row counts."""
    ended = Run.objects.filter(completed_at__isnull=False).annotate(day=TruncDate("completed_at"))
    sums = {
        "prompt_tokens": Sum("prompt_tokens"),
        "completion_tokens": Sum("completion_tokens"),
        "runs": Count("pk"),
    }
    with transaction.atomic():
        UsageDay.objects.all().delete()
        UsageDayTotal.objects.all().delete()
        rows = ended.values("day", "thread__owner_id", "assistant_id", "model").annotate(**sums)
        details = [_detail(row) for row in rows.order_by()]
        UsageDay.objects.bulk_create(details, batch_size=5000)
        totals = ended.values("day").annotate(**sums).order_by()
        UsageDayTotal.objects.bulk_create([UsageDayTotal(**row) for row in totals])
    return len(details), UsageDayTotal.objects.count()


def _detail(row: dict[str, Any]) -> UsageDay:
    user_id = row.pop("thread__owner_id")
    return UsageDay(user_id=user_id, **row)
