"""The reads of the conversation features at scale: the sidebar's first page, a search, and
opening a thread of many messages with many branches, timed side by side in one run.

    python -m bench.conversation [--threads N] [--messages M] [--repeat R] [--json]

One user's database (SQLite in a temporary directory) of N threads and M messages, written
with bulk inserts; then each read R times through the API's own selectors (no HTTP), and the p50
and p95 in milliseconds. The issue's targets are for 100,000 threads and 2,000,000 messages;
the default here is a tenth of that, so that it runs in minutes on a laptop.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

WORDS = [
    "river",
    "delta",
    "basin",
    "valley",
    "current",
    "flood",
    "bank",
    "source",
    "mouth",
    "lake",
    "stream",
    "water",
    "north",
    "south",
    "bridge",
    "city",
    "boat",
    "fish",
    "stone",
    "rain",
    "snow",
]


def timed(read: Callable[[], Any], repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        read()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[max(0, int(len(samples) * 0.95) - 1)], 2),
    }


def text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def fill(threads: int, messages: int) -> tuple[Any, int]:
    """The user, and the thread of 1,000 messages in 50 branches (the rest is spread)."""
    from django.contrib.auth.models import User

    from chat.models import Assistant, Message, Thread

    rng = random.Random(7)
    user = User.objects.create_user("bench", "", "bench-password-123")
    assistant = Assistant.objects.get(is_default=True)
    rows = [Thread(owner=user, assistant=assistant, title=text(rng, 4)) for _ in range(threads)]
    made = Thread.objects.bulk_create(rows, batch_size=5000)
    per_thread = max(1, (messages - 1000) // threads)
    batch: list[Message] = []
    for thread in made:
        for i in range(per_thread):
            role = "user" if i % 2 == 0 else "assistant"
            batch.append(
                Message(thread=thread, role=role, content=text(rng, 30), status="completed")
            )
        if len(batch) >= 20000:
            Message.objects.bulk_create(batch)
            batch = []
    Message.objects.bulk_create(batch)
    return user, branched_thread(user, assistant, rng)


def branched_thread(user: Any, assistant: Any, rng: random.Random) -> int:
    """A thread of 1,000 messages: 50 branches of 20, each from a message of the first."""
    from chat.models import Message, Thread

    thread = Thread.objects.create(owner=user, assistant=assistant, title="branched")
    trunk: list[Message] = []
    parent = None
    for i in range(20):
        parent = Message.objects.create(
            thread=thread, parent=parent, role="user" if i % 2 == 0 else "assistant",
            content=text(rng, 30), status="completed",
        )  # fmt: skip
        trunk.append(parent)
    for branch in range(49):
        parent = trunk[(branch % 10) * 2]  # from a user message: a version beside its reply
        for i in range(20):
            parent = Message.objects.create(
                thread=thread, parent=parent, role="assistant" if i % 2 == 0 else "user",
                content=text(rng, 30), status="completed",
            )  # fmt: skip
    return thread.pk


def measure(threads: int, messages: int, repeat: int) -> dict[str, Any]:
    from django.core.management import call_command

    from chat import selectors
    from chat.search import search
    from chat.thread_pages import thread_page

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    user, branched = fill(threads, messages)
    queries = ["river", "delta basin", "flo", "north bridge rain"]
    return {
        "threads": threads,
        "messages": messages,
        "fill_seconds": round(time.perf_counter() - started, 1),
        "sidebar_first_page": timed(lambda: thread_page(user=user, cursor=None), repeat),
        "search": timed(lambda: search(user=user, query=random.choice(queries)), repeat),
        "open_1000_messages_50_branches": timed(
            lambda: selectors.thread_detail(user=user, thread_id=branched), repeat
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
        os.environ.pop("DATABASE_URL", None)
        os.environ["SQLITE_PATH"] = os.path.join(tmp, "db.sqlite3")
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        import django

        django.setup()
        result = measure(args.threads, args.messages, args.repeat)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
