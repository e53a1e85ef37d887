"""What a token budget adds to a run's start: the service that starts a run, timed for a user
without a budget and for one with a budget, interleaved in one process on one database, and
the budget's own part (limits read, ledger row locked, reservation written) timed alone,
beside the machine's baseline: one `SELECT 1` round trip on the same connection.

    python -m bench.budget_check [--runs 400] [--json]

Uses PostgreSQL when DATABASE_URL is set (a scratch database beside it), else SQLite.
Nothing happens per token: the stream only adds one to a counter and compares it.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.scratch_db import django_on_scratch_db


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 3),
    }


def measure(runs: int) -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from chat import services
    from chat.budgets.ledger import budget_reserve
    from chat.models import UserBudget

    free = User.objects.create_user("bench-free")
    capped = User.objects.create_user("bench-capped")
    UserBudget.objects.create(user=capped, daily_tokens=10**12, monthly_tokens=10**13)

    def reserve_alone() -> float:
        # Its statements only, inside a transaction as at a run's start; the commit is the
        # run's INSERT's anyway. Rolled back, so the ledger does not grow.
        with transaction.atomic():
            spent = timed(lambda: budget_reserve(user_id=capped.pk, prompt_tokens=20))
            transaction.set_rollback(True)
        return spent

    def round_trip() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    samples: dict[str, list[float]] = {
        "no_budget": [],
        "budget": [],
        "reserve_alone": [],
        "select_1_baseline": [],
    }
    for i in range(runs + 20):
        times = (
            timed(functools.partial(services.thread_create, owner=free, content="Hello")),
            timed(functools.partial(services.thread_create, owner=capped, content="Hello")),
            reserve_alone(),
            timed(round_trip),
        )
        if i >= 20:  # the first ones warm connections and caches up
            for key, value in zip(samples, times, strict=True):
                samples[key].append(value)
    found = {key: summary(values) for key, values in samples.items()}
    found["added_median_ms"] = round(
        found["budget"]["median_ms"] - found["no_budget"]["median_ms"], 3
    )
    found["reserve_in_round_trips"] = round(
        found["reserve_alone"]["median_ms"] / found["select_1_baseline"]["median_ms"], 1
    )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with django_on_scratch_db("bench_budget") as vendor:
        result = {"database": vendor, "runs": args.runs, **measure(args.runs)}
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
