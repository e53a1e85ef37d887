"""Reads behind the operators' live board and run inspector (`chat.admin_pages`).

The live board reads the database only: every process records which runs it executes
(`Run.lease_owner`, renewed with `lease_expires_at`) and, in the same renewal, each run's
tokens so far (`Run.live_tokens`), so one query shows the runs of every process.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from chat.models import Run


@dataclass(frozen=True)
class LiveRun:
    run: Run
    age: dt.timedelta
    lease: str  # "live", "expired" or "not claimed yet"
    rate: float | None  # tokens per second, as of the last lease renewal


def live_runs() -> list[LiveRun]:
    """Every active run, oldest first, with its user and assistant."""
    now = timezone.now()
    runs = Run.objects.filter(status__in=Run.ACTIVE_STATUSES).select_related(
        "thread__owner", "assistant"
    )
    return [_live(run, now) for run in runs.order_by("created_at", "pk")]


def _live(run: Run, now: dt.datetime) -> LiveRun:
    expires = run.lease_expires_at
    lease = "not claimed yet" if expires is None else ("live" if expires > now else "expired")
    return LiveRun(run=run, age=now - run.created_at, lease=lease, rate=_rate(run))


def _rate(run: Run) -> float | None:
    # When the lease was last renewed (every process of a deployment has the same
    # RUN_LEASE_SECONDS): the time at which `live_tokens` was written.
    if run.lease_expires_at is None or run.started_at is None or not run.live_tokens:
        return None
    renewed = run.lease_expires_at - dt.timedelta(seconds=settings.RUN_LEASE_SECONDS)
    seconds = (renewed - run.started_at).total_seconds()
    return run.live_tokens / seconds if seconds > 0 else None


def run_inspected(run_id: int) -> Run:
    return Run.objects.select_related("thread__owner", "assistant").get(pk=run_id)


def timeline_rows(run: Run) -> list[dict[str, Any]]:
    """The stored timeline's events as rows: time since the POST, name, what it says, and
    for tool calls their duration; the first token among them."""
    rows = []
    ttft = run.time_to_first_token
    if run.timeline and ttft is not None:
        first = int(ttft.total_seconds() * 1000)
        rows.append({"at_ms": first, "name": "first token", "detail": {}, "took_ms": None})
    for event in (run.timeline or {}).get("events", []):
        at, name, detail = event[0], event[1], dict(event[2]) if len(event) > 2 else {}
        since = detail.pop("since", None)
        took = at - since if isinstance(since, int) else None
        rows.append({"at_ms": at, "name": name, "detail": detail, "took_ms": took})
    return sorted(rows, key=lambda row: row["at_ms"])


def token_rates(run: Run) -> list[tuple[float, float]]:
    """(seconds since the POST, tokens per second over the interval before), from the
    timeline's samples."""
    samples = (run.timeline or {}).get("tokens", [])
    rates = []
    for (t0, n0), (t1, n1) in zip(samples, samples[1:], strict=False):
        if t1 > t0:
            rates.append((t1 / 1000, round((n1 - n0) * 1000 / (t1 - t0), 1)))
    return rates
