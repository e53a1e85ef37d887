"""The CPU a web process spends on one message's POST, the request that starts every run.

    python -m bench.post_cost [--threads 100] [--rounds 4] [--concurrency 10]

Needs REDIS_URL and a PostgreSQL DATABASE_URL; makes its own database and key prefix. One
daphne process in worker mode with no worker, so a POST is measured alone: the run it queues
is never executed. Each round makes `--threads` threads (their first runs are marked done in
the database), then posts one message to each, `--concurrency` at a time, and counts the
daphne process's CPU over the posts only. Prints the CPU per POST as a JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
from typing import Any

import httpx
import psutil

from bench import harness
from bench.topology import fresh_database, prepare_database


def app_env(database_url: str) -> dict[str, str]:
    extra = {
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ["REDIS_URL"],
        "REDIS_KEY_PREFIX": f"bench-{secrets.token_hex(4)}",
        "RUN_EXECUTION": "worker",
    }
    return harness.app_env("http://127.0.0.1:9/", None, extra)


async def threads_ready(http: httpx.AsyncClient, count: int, database_url: str) -> list[int]:
    """`count` new threads, their first runs marked completed: with no worker they would
    stay queued, and a thread with an active run refuses a new message."""
    import psycopg

    ids = []
    for i in range(count):
        body = await harness.post_json(http, "/api/threads/", {"content": f"first {i}"})
        ids.append(int(body["thread"]["id"]))  # type: ignore[index]
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute("UPDATE chat_run SET status = 'completed' WHERE status = 'queued'")
    return ids


async def posted(http: httpx.AsyncClient, threads: list[int], concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(thread_id: int) -> None:
        async with gate:
            path = f"/api/threads/{thread_id}/messages/"
            await harness.post_json(http, path, {"content": "hello there"})

    await asyncio.gather(*(one(t) for t in threads))


async def measure(base: str, proc: psutil.Process, args: argparse.Namespace, url: str) -> float:
    http = await harness.login(base)
    cpu = 0.0
    for _ in range(args.rounds):
        threads = await threads_ready(http, args.threads, url)
        before = proc.cpu_times()
        await posted(http, threads, args.concurrency)
        after = proc.cpu_times()
        cpu += (after.user - before.user) + (after.system - before.system)
    await http.aclose()
    return 1000 * cpu / (args.rounds * args.threads)


def run(args: argparse.Namespace) -> dict[str, Any]:
    with fresh_database(os.environ["DATABASE_URL"]) as url:
        env = app_env(url)
        prepare_database(env)
        port = harness.free_port()
        command = [harness.PYTHON, *(a.format(port=port) for a in harness.SERVERS["daphne"])]
        base = f"http://127.0.0.1:{port}"
        with harness.process(command, env=env, ready_url=base + "/healthz") as proc:
            per_post = asyncio.run(measure(base, proc, args, url))
    return {"posts": args.rounds * args.threads, "cpu_ms_per_post": round(per_post, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=10)
    print(json.dumps(run(parser.parse_args())))


if __name__ == "__main__":
    main()
