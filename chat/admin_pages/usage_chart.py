"""The usage page's chart data (labels and datasets as Chart.js reads them: prompt and
completion stacked per day) and the table beside it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from chat.admin_pages.usage_form import days_between
from chat.usage import reports


def usage_chart(by: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    days = days_between(start, end)
    chart = _site(days, start, end) if by == "site" else _items(by, days, start, end)
    return {"labels": [day.isoformat() for day in days], **chart}


def _site(days: list[dt.date], start: dt.date, end: dt.date) -> dict[str, Any]:
    rows = {row["day"]: row for row in reports.site_days(start, end)}
    prompt = [rows[d]["prompt_tokens"] if d in rows else 0 for d in days]
    completion = [rows[d]["completion_tokens"] if d in rows else 0 for d in days]
    total = {
        "label": "Whole site",
        "prompt_tokens": sum(prompt),
        "completion_tokens": sum(completion),
        "runs": sum(row["runs"] for row in rows.values()),
    }
    datasets = [_dataset("Prompt tokens", prompt, "site"),
                _dataset("Completion tokens", completion, "site")]  # fmt: skip
    return {"datasets": datasets, "table": [total]}


def _items(by: str, days: list[dt.date], start: dt.date, end: dt.date) -> dict[str, Any]:
    items = reports.top_items(by, start, end)
    rows = reports.item_days(by, [item.key for item in items], start, end)
    series = {(row["key"], row["day"]): row for row in rows}
    datasets = []
    for item in items:
        for part in ("prompt", "completion"):
            data = [series.get((item.key, d), {}).get(f"{part}_tokens", 0) for d in days]
            datasets.append(_dataset(f"{item.label} ({part})", data, item.key))
    table = [vars(item) | {"total_tokens": item.total_tokens} for item in items]
    return {"datasets": datasets, "table": table}


def _dataset(label: str, data: list[int], stack: str) -> dict[str, Any]:
    return {"label": label, "data": data, "stack": stack}
