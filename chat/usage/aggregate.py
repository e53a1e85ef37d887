"""The per-day usage tables, added to as each run ends and rebuilt from runs on demand.

`usage_add` runs in the transaction that stores the run's final usage: three upserts that add
to the day's rows (`UPDATE ... SET x = x + ...`), never a rescan: the cube by user, assistant
and model (`UsageDay`), one row per dimension (`UsageDaySlice`, in one statement) and the
site's day (`UsageDayTotal`). `usage_rebuild` recomputes all three from the runs inside the
database (INSERT ... SELECT ... GROUP BY), for `manage.py rebuild_usage`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from chat.models import Run, UsageDay, UsageDaySlice, UsageDayTotal

SLICES = ("user_id", "assistant_id", "model")  # UsageDay columns -> dimensions
_TOKENS = "prompt_tokens, completion_tokens, runs"


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
    tokens: list[Any] = [ended.prompt_tokens, ended.completion_tokens, 1]
    cube: list[Any] = [ended.day, ended.user_id, ended.assistant_id, ended.model]
    _upsert(UsageDay, "day, user_id, assistant_id, model", [cube + tokens])
    slices = [
        ["user", ended.day, str(ended.user_id)],
        ["assistant", ended.day, str(ended.assistant_id)],
        ["model", ended.day, ended.model],
    ]
    _upsert(UsageDaySlice, "dimension, day, key", [row + tokens for row in slices])
    _upsert(UsageDayTotal, "day", [[ended.day, *tokens]])


def _upsert(model: type[Any], key: str, rows: list[list[Any]]) -> None:
    table = model._meta.db_table
    marks = ", ".join("(" + ", ".join(["%s"] * len(rows[0])) + ")" for _ in rows)
    sql = f"""
        INSERT INTO {table} ({key}, {_TOKENS}) VALUES {marks}
        ON CONFLICT ({key}) DO UPDATE SET
          prompt_tokens = {table}.prompt_tokens + excluded.prompt_tokens,
          completion_tokens = {table}.completion_tokens + excluded.completion_tokens,
          runs = {table}.runs + excluded.runs
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])


def usage_rebuild() -> tuple[int, int]:
    """All three tables recomputed from the ended runs, in one transaction, inside the
    database; returns the cube's rows and the days."""
    ended = Run.objects.filter(completed_at__isnull=False).annotate(day=TruncDate("completed_at"))
    sums = {"p": Sum("prompt_tokens"), "c": Sum("completion_tokens"), "n": Count("pk")}
    # Django 5.2 keeps the order values() names, annotations included: the INSERT's order.
    cube = ended.values("day", "thread__owner_id", "assistant_id", "model").annotate(**sums)
    with transaction.atomic():
        for model in (UsageDay, UsageDaySlice, UsageDayTotal):
            model.objects.all().delete()
        sql, params = cube.order_by().query.sql_with_params()
        _execute(
            f"INSERT INTO {_table(UsageDay)} (day, user_id, assistant_id, model, {_TOKENS}) {sql}",
            params,
        )
        for column in SLICES:
            _execute(_slice_sql(column))
        _execute(f"INSERT INTO {_table(UsageDayTotal)} (day, {_TOKENS}) SELECT day, "
                 f"{_SUMS} FROM {_table(UsageDay)} GROUP BY day")  # fmt: skip
    return UsageDay.objects.count(), UsageDayTotal.objects.count()


_SUMS = "SUM(prompt_tokens), SUM(completion_tokens), SUM(runs)"


def _slice_sql(column: str) -> str:
    dimension = column.removesuffix("_id")
    return (f"INSERT INTO {_table(UsageDaySlice)} (dimension, day, key, {_TOKENS}) "
            f"SELECT '{dimension}', day, CAST({column} AS VARCHAR(200)), {_SUMS} "
            f"FROM {_table(UsageDay)} GROUP BY day, {column}")  # fmt: skip


def _table(model: type[Any]) -> str:
    return str(model._meta.db_table)


def _execute(sql: str, params: Any = ()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
