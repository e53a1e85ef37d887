"""The admin's usage pages over 1,000,000 runs on PostgreSQL: p95 of each page.

    python -m bench.usage_pages [--runs 1000000] [--users 200] [--days 365] [--requests 30]

Generates the runs with one INSERT ... SELECT FROM generate_series (users, assistants,
models and 365 days of end times spread at random), rebuilds the per-day tables from them
(`manage.py rebuild_usage`, timed), then requests each page (site, by user, by assistant, by
model) for the last 30 days and for the whole year, logged in as staff, through Django's
full request path, and reports the median and p95 of each; beside them, the baseline the
tables avoid: the same by-user year computed from the runs (one GROUP BY over them). Needs
DATABASE_URL (a scratch database is made beside it and dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

from bench.scratch_db import django_on_scratch_db

PAGES = ["site", "user", "assistant", "model"]
MODELS = ["gpt-4o", "gpt-4o-mini", "llama-3.1-8b", "smollm2-135m"]


def generate(runs: int, users: int, days: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,"
            " email, is_staff, is_active, date_joined)"
            " SELECT '!', false, 'user' || i, '', '', '', false, true, now()"
            " FROM generate_series(1, %s) AS i",
            [users],
        )
        cursor.execute(
            "INSERT INTO chat_assistant (name, protocol, base_url, api_key_env,"
            " upstream_assistant_id, model, instructions, tools, tool_choice, response_format,"
            " truncation_strategy, is_default, created_at, responses_history)"
            " SELECT 'Assistant ' || i, 'chat_completions', '', '', '', 'gpt-4o', '', '[]',"
            " 'auto', '\"auto\"', '{}', false, now(), 'full' FROM generate_series(1, 4) AS i"
        )
        cursor.execute(
            "INSERT INTO chat_thread (owner_id, assistant_id, title, upstream_thread_id,"
            " created_at, updated_at)"
            " SELECT u.id, a.id, 'Bench', '', now(), now()"
            " FROM auth_user u CROSS JOIN chat_assistant a WHERE u.username LIKE 'user%%'"
        )
        cursor.execute(_RUNS_SQL, [MODELS, days, runs])


# Each run: a random thread (so a user and an assistant), one of the models, an end time in
# the last `days` days, and token counts of a chat turn.
_RUNS_SQL = """
    WITH threads AS (SELECT array_agg(id ORDER BY id) AS ids FROM chat_thread),
    picks AS (
        SELECT (SELECT ids FROM threads) AS ids, %s::text[] AS models, %s AS days
    )
    INSERT INTO chat_run (thread_id, assistant_id, upstream_run_id, status, model, created_at,
        started_at, first_token_at, completed_at, prompt_tokens, completion_tokens,
        total_tokens, usage_estimated, notes, skipped_events, lease_owner, budget_reserved,
        live_tokens)
    SELECT t.id, t.assistant_id, '', 'completed', r.model, r.ended, r.ended, r.ended, r.ended,
        r.prompt, r.completion, r.prompt + r.completion, false, '[]', 0, '', 0, 0
    FROM (
        SELECT picks.ids[1 + floor(random() * array_length(picks.ids, 1))::int] AS thread_id,
            picks.models[1 + floor(random() * 4)::int] AS model,
            now() - random() * make_interval(days => picks.days) AS ended,
            50 + floor(random() * 2000)::int AS prompt,
            10 + floor(random() * 600)::int AS completion
        FROM picks, generate_series(1, %s)
    ) AS r JOIN chat_thread t ON t.id = r.thread_id
"""


def request_pages(requests: int) -> dict[str, Any]:
    import datetime as dt

    from django.contrib.auth.models import User
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.create_superuser("bench-admin", "", "bench-password"))
    today = dt.date.today()
    ranges = {"30d": today - dt.timedelta(days=29), "365d": today - dt.timedelta(days=365)}
    found: dict[str, Any] = {}
    for by in PAGES:
        for name, start in ranges.items():
            url = f"/admin/chat/usagedaytotal/?by={by}&start={start}&end={today}"
            found[f"{by}_{name}"] = _time_page(client, url, requests)
    return found


def _time_page(client: Any, url: str, requests: int) -> dict[str, float]:
    samples = []
    for i in range(requests + 3):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.status_code
        if i >= 3:  # warm-up: the first requests load templates and plans
            samples.append(elapsed)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[max(0, int(len(samples) * 0.95) - 1)], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("bench.usage_pages needs DATABASE_URL (PostgreSQL)")
    with django_on_scratch_db("bench_usage"):
        result = _measure(args)
    print(json.dumps(result))


def _measure(args: Any) -> dict[str, Any]:
    from django.db import connection

    from chat.usage.aggregate import usage_rebuild

    started = time.perf_counter()
    generate(args.runs, args.users, args.days)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    details, days = usage_rebuild()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    rebuilt = time.perf_counter() - started
    result = {"runs": args.runs, "users": args.users, "generate_s": round(generated, 1),
              "rebuild_s": round(rebuilt, 1), "usage_rows": details, "days": days}  # fmt: skip
    result["pages"] = request_pages(args.requests)
    result["baseline_scan_runs_by_user_365d"] = scan_runs(max(3, args.requests // 6))
    return result


def scan_runs(requests: int) -> dict[str, float]:
    """The baseline the tables avoid: the by-user figures of a year computed from the runs
    themselves (one GROUP BY over every run), timed like a page."""
    import datetime as dt

    from django.db.models import Sum

    from chat.models import Run

    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=365)
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        rows = Run.objects.filter(completed_at__gte=since).values("thread__owner_id")
        list(rows.annotate(p=Sum("prompt_tokens"), c=Sum("completion_tokens")).order_by())
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 1), "max_ms": round(samples[-1], 1)}


if __name__ == "__main__":
    main()
