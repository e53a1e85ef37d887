"""Reads behind the admin's usage pages, from the per-day tables only (never from runs).

The site page reads one row a day (`UsageDayTotal`). A page by user, assistant or model reads
that dimension's slice (`UsageDaySlice`, one row per day and item): first the top N items of
the range (a LIMIT over one index range, grouped), then the daily series of those N only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db.models import F, Sum

from chat.models import Assistant, UsageDaySlice, UsageDayTotal

DIMENSIONS = ("user", "assistant", "model")
TOP = 10
_SUMS: dict[str, Any] = {
    "prompt": Sum("prompt_tokens"),
    "completion": Sum("completion_tokens"),
    "count": Sum("runs"),
}


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    prompt_tokens: int
    completion_tokens: int
    runs: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def site_days(start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    rows = UsageDayTotal.objects.filter(day__range=(start, end)).order_by("day")
    values = rows.values("day", "prompt_tokens", "completion_tokens", "runs")
    return [dict(row) for row in values]


def top_items(dimension: str, start: dt.date, end: dt.date, limit: int = TOP) -> list[Item]:
    """The dimension's biggest spenders over the range, most tokens first."""
    rows = list(
        _slice(dimension, start, end)
        .values("key")
        .annotate(**_SUMS)
        .order_by((F("prompt") + F("completion")).desc(), "key")[:limit]
    )
    labels = labels_of(dimension, [row["key"] for row in rows])
    return [
        Item(
            row["key"],
            labels.get(row["key"], row["key"]),
            row["prompt"],
            row["completion"],
            row["count"],
        )  # fmt: skip
        for row in rows
    ]


def item_days(
    dimension: str, keys: list[str], start: dt.date, end: dt.date
) -> list[dict[str, Any]]:
    """Per day and item, for the items named (`top_items`' keys)."""
    rows = _slice(dimension, start, end).filter(key__in=keys)
    return list(rows.values("day", "key", "prompt_tokens", "completion_tokens", "runs"))


def csv_rows(dimension: str, start: dt.date, end: dt.date) -> Iterator[list[Any]]:
    """Every row of the range, for the CSV export: day, item, tokens, runs."""
    if dimension == "site":
        yield ["day", "prompt_tokens", "completion_tokens", "runs"]
        for row in site_days(start, end):
            yield [row["day"], row["prompt_tokens"], row["completion_tokens"], row["runs"]]
        return
    yield ["day", dimension, "prompt_tokens", "completion_tokens", "runs"]
    rows = _slice(dimension, start, end).order_by("day", "key")
    fields = ("day", "key", "prompt_tokens", "completion_tokens", "runs")
    for chunk in _chunks(list(rows.values_list(*fields)), 2000):
        labels = labels_of(dimension, [row[1] for row in chunk])
        yield from ([day, labels.get(key, key), *rest] for day, key, *rest in chunk)


def labels_of(dimension: str, keys: list[str]) -> dict[str, str]:
    """Usernames and assistant names for slice keys (ids); a model is its own label."""
    if dimension == "model":
        return {key: key for key in keys}
    ids = {int(key) for key in keys if key.isdigit()}
    found: Any
    if dimension == "user":
        found = User.objects.filter(pk__in=ids).values_list("pk", "username")
    else:
        found = Assistant.objects.filter(pk__in=ids).values_list("pk", "name")
    return {str(pk): name for pk, name in found}


def _slice(dimension: str, start: dt.date, end: dt.date) -> Any:
    return UsageDaySlice.objects.filter(dimension=dimension, day__range=(start, end))


def _chunks(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]
