"""Reads behind the admin's usage pages, from the per-day tables only (never from runs).

The site page reads one row a day (`UsageDayTotal`). A page by user, assistant or model
first finds the top N of that dimension over the range (a LIMIT over one grouped index
range), then the daily series of those N only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Sum

from chat.ops_models import UsageDay, UsageDayTotal

# The dimension a page is by -> the UsageDay column it groups on, and the label beside it.
DIMENSIONS: dict[str, tuple[str, str]] = {
    "user": ("user_id", "user__username"),
    "assistant": ("assistant_id", "assistant__name"),
    "model": ("model", "model"),
}
TOP = 10
_SUMS: dict[str, Any] = {
    "prompt_tokens": Sum("prompt_tokens"),
    "completion_tokens": Sum("completion_tokens"),
    "runs": Sum("runs"),
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
    column, label = DIMENSIONS[dimension]
    rows = (
        UsageDay.objects.filter(day__range=(start, end))
        .values(column)
        .annotate(**_SUMS)
        .order_by((F("prompt_tokens") + F("completion_tokens")).desc(), column)[:limit]
    )
    rows = list(rows)
    labels = _labels(dimension, [row[column] for row in rows])
    return [
        Item(
            str(row[column]),
            labels.get(row[column], str(row[column])),
            row["prompt_tokens"],
            row["completion_tokens"],
            row["runs"],
        )  # fmt: skip
        for row in rows
    ]


def item_days(
    dimension: str, keys: list[str], start: dt.date, end: dt.date
) -> list[dict[str, Any]]:
    """Per day and item, for the items named (`top_items`' keys)."""
    column = DIMENSIONS[dimension][0]
    rows = (
        UsageDay.objects.filter(day__range=(start, end), **{f"{column}__in": keys})
        .values("day", column)
        .annotate(**_SUMS)
        .order_by("day", column)
    )
    return [{**row, "key": str(row.pop(column))} for row in rows]


def csv_rows(dimension: str, start: dt.date, end: dt.date) -> Iterator[list[Any]]:
    """Every row of the range, for the CSV export: day, item, tokens, runs."""
    if dimension == "site":
        yield ["day", "prompt_tokens", "completion_tokens", "runs"]
        for row in site_days(start, end):
            yield [row["day"], row["prompt_tokens"], row["completion_tokens"], row["runs"]]
        return
    column, label = DIMENSIONS[dimension]
    yield ["day", dimension, "prompt_tokens", "completion_tokens", "runs"]
    rows = (
        UsageDay.objects.filter(day__range=(start, end))
        .values_list("day", column, label)
        .annotate(**_SUMS)
        .order_by("day", column)
    )
    for day, _, name, prompt, completion, runs in rows.iterator(chunk_size=2000):
        yield [day, name, prompt, completion, runs]


def _labels(dimension: str, keys: list[Any]) -> dict[Any, str]:
    if dimension == "model":
        return {key: key for key in keys}
    model = UsageDay._meta.get_field(dimension).related_model
    assert model is not None and not isinstance(model, str)
    name = DIMENSIONS[dimension][1].split("__", 1)[1]
    return dict(model._default_manager.filter(pk__in=keys).values_list("pk", name))
