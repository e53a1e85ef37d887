"""The rows of the conversation benchmark, with their ids given, so that parents are known
before anything is written and rows go in as fast as the database takes them.

One user (`bench`) owns `threads` threads and `messages` messages; after every fifth of their
threads comes one of another user's (four of them, a fifth as much again), so other users'
rows lie between the bench user's, where the isolation filters must skip them. Each thread is
a chain of messages, user and assistant in turn, five minutes after the one before; the last
of the bench user's threads is the branched one (`branched_rows`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bench.conversation_text import OTHERS_WORD, texts

BRANCHED_MESSAGES = 1000
BRANCHES = 50
OTHER_USERS = 4
START = datetime(2025, 1, 1)

THREAD_COLUMNS = ("id", "owner_id", "assistant_id", "title", "upstream_thread_id", "metadata",
                  "leaf_id", "created_at", "updated_at")  # fmt: skip
MESSAGE_COLUMNS = ("id", "thread_id", "owner_id", "run_id", "parent_id", "role", "content",
                   "status", "upstream_message_id", "annotations", "metadata", "created_at",
                   "updated_at")  # fmt: skip
RUN_COLUMNS = ("id", "thread_id", "assistant_id", "upstream_run_id", "status", "model",
               "created_at", "completed_at", "prompt_tokens", "completion_tokens",
               "total_tokens", "usage_estimated", "lease_owner", "notes", "skipped_events",
               "metadata", "overrides", "budget_reserved", "live_tokens", "prompt_id")  # fmt: skip
STEP_COLUMNS = ("id", "run_id", "upstream_step_id", "type", "status", "step_details", "usage",
                "created_at")  # fmt: skip


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass
class Plan:
    threads: int
    messages: int
    user_id: int
    others: list[int]
    assistant_id: int
    thread_rows: list[tuple] = field(default_factory=list)
    run_rows: list[tuple] = field(default_factory=list)
    step_rows: list[tuple] = field(default_factory=list)
    next_message: int = 1
    branched_id: int = 0


def thread_message_counts(threads: int, messages: int) -> list[int]:
    """Messages per plain thread of the bench user: the rest after the branched thread."""
    plain = threads - 1
    each, extra = divmod(messages - BRANCHED_MESSAGES, plain)
    return [each + (1 if i < extra else 0) for i in range(plain)]


def message_batches(plan: Plan, batch: int = 20_000) -> Iterator[list[tuple]]:
    """Every message row, in id order, a batch at a time; fills `plan`'s thread rows."""
    rng = random.Random(7)
    rows: list[tuple] = []
    for index, (owner, count) in enumerate(_owners(plan)):
        thread_id = index + 1
        when = START + timedelta(minutes=5 * index)
        contents = texts(rng, count)
        if owner != plan.user_id:
            contents = [_with_others_word(rng, text) for text in contents]
        rows += _chain(plan, (thread_id, owner), contents, when)
        last = rows[-1][-1] if contents else stamp(when)
        plan.thread_rows.append(_thread(plan, thread_id, owner, texts(rng, 1, low=3, high=6)[0],
                                        stamp(when), last))  # fmt: skip
        if len(rows) >= batch:
            yield rows
            rows = []
    plan.branched_id = len(plan.thread_rows) + 1
    yield rows + branched_rows(plan, rng)


def _owners(plan: Plan) -> Iterator[tuple[int, int]]:
    for i, count in enumerate(thread_message_counts(plan.threads, plan.messages)):
        yield plan.user_id, count
        if i % 5 == 4:
            yield plan.others[(i // 5) % len(plan.others)], 20


def _with_others_word(rng: random.Random, text: str) -> str:
    return f"{text} {OTHERS_WORD}" if rng.random() < 0.1 else text


def _thread(plan: Plan, pk: int, owner: int, title: str, created: str, updated: str) -> tuple:
    return (pk, owner, plan.assistant_id, title, "", "{}", None, created, updated)


def _chain(plan: Plan, thread: tuple[int, int], contents: list[str], when: datetime) -> list[tuple]:
    rows, parent = [], None
    for i, content in enumerate(contents):
        role = "user" if i % 2 == 0 else "assistant"
        pk = plan.next_message
        plan.next_message += 1
        rows.append(_message(pk, thread, None, parent, role, content, when, i))
        parent = pk
    return rows


def _message(pk: int, thread: tuple[int, int], run_id: int | None, parent: int | None, role: str,
             content: str, when: datetime, i: int) -> tuple:  # fmt: skip
    """A message row in `thread` (its id and its owner's)."""
    at = stamp(when + timedelta(seconds=10 * i))
    return (pk, *thread, run_id, parent, role, content, "completed", "", "[]", "{}", at, at)


def branched_rows(plan: Plan, rng: random.Random) -> list[tuple]:
    """The bench user's newest thread: a trunk of 20 messages, then 49 branches of 20, each
    a reply made again to one of the trunk's user messages and the conversation going on
    from it; every reply has its run, every user message the run it started."""
    thread_id, when = plan.branched_id, START + timedelta(minutes=5 * plan.branched_id)
    per = BRANCHED_MESSAGES // BRANCHES
    trunk = _branch(plan, rng, thread_id, None, "user", per, when)
    rows = list(trunk)
    for branch in range(BRANCHES - 1):
        prompt = trunk[(branch % (per // 2)) * 2]  # a user message: a version beside its reply
        later = when + timedelta(hours=branch + 1)
        rows += _branch(plan, rng, thread_id, prompt, "assistant", per, later)
    last = rows[-1][-1]
    plan.thread_rows.append(_thread(plan, thread_id, plan.user_id, "branched", stamp(when), last))
    return rows


def _branch(plan: Plan, rng: random.Random, thread_id: int, prompt: tuple | None, first: str,
            count: int, when: datetime) -> list[tuple]:  # fmt: skip
    rows: list[tuple] = []
    parent, run_id = (prompt[0] if prompt else None), None
    for i, content in enumerate(texts(rng, count)):
        role = first if i % 2 == 0 else ("user" if first == "assistant" else "assistant")
        if role == "user" or run_id is None:
            # A user message starts a run; a branch's first reply is a run made again.
            run_id = _run(plan, thread_id, prompt[0] if role != "user" and prompt else None, when)
        pk = plan.next_message
        plan.next_message += 1
        thread = (thread_id, plan.user_id)
        rows.append(_message(pk, thread, run_id, parent, role, content, when, len(rows)))
        if role != "user":
            _step(plan, run_id, pk, when)
            run_id = None
        parent = pk
    return rows


def _run(plan: Plan, thread_id: int, prompt_id: int | None, when: datetime) -> int:
    pk = len(plan.run_rows) + 1
    at = stamp(when)
    usage = (100, 40, 140, False)
    plan.run_rows.append((pk, thread_id, plan.assistant_id, "", "completed", "gpt-4o", at, at,
                          *usage, "", "[]", 0, "{}", "{}", 0, 0, prompt_id))  # fmt: skip
    return pk


def _step(plan: Plan, run_id: int, message_id: int, when: datetime) -> None:
    pk = len(plan.step_rows) + 1
    details = '{"type": "message_creation", "message_creation": {"message_id": "msg_%d"}}'
    usage = '{"prompt_tokens": 100, "completion_tokens": 40, "total_tokens": 140}'
    plan.step_rows.append((pk, run_id, "", "message_creation", "completed",
                           details % message_id, usage, stamp(when)))  # fmt: skip
