"""The random resumes' settings and plans, one per socket, and what all sockets saw of the run."""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import dataclass, field

SEED = int(os.environ.get("RESUME_SEED", "20261124"))
CONNECTIONS = 200
# Connections from this index on wait until the run has ended: resuming a finished run from
# its kept log must behave exactly like resuming a live one.
AFTER_END_FROM = 150
WORKERS = 4
# About 4 s of streaming: long enough that most sockets meet the run live.
LONG_RUN = "/sim tokens=2000 rate=500 Tell me about rivers"
TERMINAL = {
    "thread.run.completed",
    "thread.run.failed",
    "thread.run.cancelled",
    "thread.run.incomplete",
    "thread.run.expired",
}
TERMINAL_STATUSES = {event.rsplit(".", 1)[1] for event in TERMINAL}
QUIET_SECONDS = 0.25  # a socket with nothing to read for this long checks whether it is done
DEADLINE_SECONDS = 20.0


@dataclass
class Observed:
    """What all sockets saw of the run, shared by the workers."""

    run_id: int
    frames: dict[int, str] = field(default_factory=dict)  # seq -> the exact text received
    max_seq: int = 0
    last_seq: int | None = None  # the terminal frame's seq, once any socket saw it
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    live_connections: int = 0  # sockets opened before the run ended

    def record(self, seq: int, raw: str) -> None:
        known = self.frames.setdefault(seq, raw)
        assert known == raw, f"seq {seq} differs between sockets:\n{known}\n{raw}"
        self.max_seq = max(self.max_seq, seq)


@dataclass(frozen=True)
class Plan:
    """One connection: how it resumes, where (a kind and a fraction), how much it reads."""

    index: int
    mode: str  # "query", "frame", "frame_after_replay"
    kind: str  # "zero", "last", "beyond", "inside"
    fraction: float
    beyond_by: int
    reads: int
    abort: bool
    pause: float

    def after_seq(self, seen: Observed) -> int:
        last = seen.last_seq if seen.last_seq is not None else seen.max_seq
        if self.kind == "zero":
            return 0
        if self.kind == "last":
            return last
        if self.kind == "beyond":
            return last + self.beyond_by
        return int(self.fraction * last)


def make_plans(rng: random.Random) -> list[Plan]:
    modes = ["query", "frame", "frame_after_replay"]
    return [
        Plan(
            index=index,
            mode=rng.choices(modes, [6, 2, 2])[0],
            kind=rng.choices(["zero", "last", "beyond", "inside"], [1, 2, 1, 6])[0],
            fraction=rng.random(),
            beyond_by=rng.randint(1, 50),
            reads=rng.choice([0, rng.randint(1, 5), rng.randint(1, 80), rng.randint(1, 600)]),
            abort=rng.random() < 0.2,
            pause=rng.uniform(0, 0.03),
        )
        for index in range(CONNECTIONS)
    ]
