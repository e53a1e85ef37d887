"""The reads of the conversation features at the issue's size, on SQLite and on PostgreSQL:
the sidebar's first page, searches, and opening a thread of 1,000 messages in 50 branches.

    nice -n 10 python -m bench.conversation [--backend sqlite|postgres|both]
        [--threads 100000] [--messages 2000000] [--repeat 30] [--only sidebar open search]
        [--json]

One user's `threads` threads and `messages` messages, other users' rows between them
(`bench.conversation_rows`), in a database made once and cached (`bench.conversation_store`;
PostgreSQL beside DATABASE_URL's). Each backend runs in a process of its own (Django binds
one database per process); each read is timed `repeat` times through the views
(`bench.conversation_reads`) and reported as p50 / p95 in milliseconds, with the machine's
load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from bench import conversation_reads as reads
from bench import conversation_store as store
from bench import harness

READS = ("sidebar", "open", "search")


def prepare(backend: str, threads: int, messages: int) -> dict[str, Any]:
    """Django on the cached database, made first if missing; how long that took."""
    name = store.key(threads, messages)
    ready = store.point_at(backend, name)
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django
    from django.core.management import call_command

    django.setup()
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter() - started
    if not ready:
        store.fill(threads, messages)
        store.mark_ready(backend, name)
    made = time.perf_counter() - started
    return {"cached": ready, "migrate_seconds": round(migrated, 1), "made_seconds": round(made, 1)}


def sizes() -> dict[str, int]:
    from chat.models import Message, Thread

    user = Thread.objects.filter(owner__username=store.USERNAME)
    return {
        "bench_user_threads": user.count(),
        "bench_user_messages": Message.objects.filter(thread__in=user).count(),
        "all_threads": Thread.objects.count(),
        "all_messages": Message.objects.count(),
    }


def measure(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    made = prepare(backend, args.threads, args.messages)
    from chat.models import Thread

    browser = reads.client()
    branched = Thread.objects.filter(title="branched", owner__username=store.USERNAME).get().pk
    result: dict[str, Any] = {"backend": backend, **made, **sizes()}
    result["load_before"] = harness.load_average()
    if "sidebar" in args.only:
        result["sidebar"] = reads.sidebar(browser, args.repeat)
    if "open" in args.only:
        result["open_1000_messages_50_branches"] = reads.open_thread(browser, branched, args.repeat)
    if "search" in args.only:
        result["search"] = reads.search(browser, args.repeat)
    result["load_after"] = harness.load_average()
    return result


def in_subprocess(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.conversation", "--backend", backend, "--json",
               "--threads", str(args.threads), "--messages", str(args.messages),
               "--repeat", str(args.repeat), "--only", *args.only]  # fmt: skip
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    found: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--only", nargs="+", choices=READS, default=list(READS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.backend == "both":
        result: Any = [in_subprocess(backend, args) for backend in ("sqlite", "postgres")]
    else:
        result = measure(args.backend, args)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
