"""Database writes per run: every INSERT, UPDATE and DELETE that one run causes, from the
service that starts it to its last write, for a reply of N tokens.

    python -m bench.db_writes [--tokens 2000] [--rate 1000] [--layer memory|redis] [--json]

Runs the app's service and run engine in this process (SQLite in a temporary directory)
against the simulator in a subprocess, and counts statements on every database connection.
With `--layer redis` the app runs with REDIS_URL (the run's log in a Redis stream).

Besides a row at the start and the final state at the end, a streaming reply is checkpointed
once per RUN_CHECKPOINT_SECONDS (1 s): the count grows with how long the reply streams, not
with its tokens. `checkpoints` says how many of the writes were checkpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from typing import Any


def count_writes(tokens: int, rate: float, layer: str = "memory") -> dict[str, Any]:
    from bench import harness

    extra = {"REDIS_URL": os.environ["REDIS_URL"]} if layer == "redis" else {}
    with harness.simulator(rate=rate) as (sim_url, _), tempfile.TemporaryDirectory() as tmp:
        os.environ.update(harness.app_env(sim_url, os.path.join(tmp, "db.sqlite3"), extra))
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        import django

        django.setup()
        return _run(tokens, rate)


def _run(tokens: int, rate: float) -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db.backends.signals import connection_created

    from chat.models import Run
    from chat.runs import get_engine
    from chat.services import run_start, thread_create

    call_command("migrate", verbosity=0)
    user = User.objects.create_user("writes", "", "writes-password-123")
    writes: list[str] = []
    checkpoints: list[bool] = []

    def counter(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(" ".join(sql.split()[:4])[:60])
            # A checkpoint sets a message's text alone; the final write sets its status too.
            checkpoints.append(sql.startswith('UPDATE "chat_message"') and '"status"' not in sql)
        return execute(sql, params, many, context)

    def install(sender: Any, connection: Any, **kwargs: Any) -> None:
        connection.execute_wrappers.append(counter)

    connection_created.connect(install)
    from django.db import connections

    for connection in connections.all():
        connection.close()  # reopened with the counter installed

    content = f"/sim tokens={tokens} rate={rate:g} Tell me a long story"

    async def run_one(thread: Any = None) -> Run:
        from channels.db import database_sync_to_async

        if thread is None:
            _, run = await database_sync_to_async(thread_create)(owner=user, content=content)
        else:
            run = await database_sync_to_async(run_start)(thread=thread, content=content)
        get_engine().launch(run.pk)
        await get_engine().wait(run.pk)
        return await Run.objects.select_related("thread").aget(pk=run.pk)

    # The first run of a thread also records the thread's (and the assistant's) upstream id;
    # the next run shows the steady state.
    first = asyncio.run(run_one())
    first_writes = len(writes)
    writes.clear()
    checkpoints.clear()
    run = asyncio.run(run_one(first.thread))
    return {
        "tokens": tokens,
        "rate": rate,
        "status": run.status,
        "completion_tokens": run.completion_tokens,
        "db_writes_per_run": len(writes),
        "checkpoints": sum(checkpoints),
        "db_writes_first_run_of_thread": first_writes,
        "statements": writes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--layer", choices=["memory", "redis"], default="memory")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.layer == "redis" and not os.environ.get("REDIS_URL"):
        raise SystemExit("--layer redis needs REDIS_URL")
    result = count_writes(args.tokens, args.rate, args.layer)
    for key, value in result.items():
        print(f"{key:20} {value}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
