"""The relay benchmark's load: runs read over sockets, each delta's added latency, and the
server's CPU while they run."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psutil

END_EVENTS = {"thread.run.completed", "thread.run.failed", "thread.run.cancelled",
              "thread.run.incomplete", "thread.run.expired"}  # fmt: skip
P99_LIMIT_MS = 50.0

# The two relays frame a delta as `{"event":"thread.message.delta",...}`; the simulator puts
# its stamp last in the delta. Found by a string search, not a JSON parse of every frame:
# the client shares the machine's two cores with the servers it measures.
_DELTA_PREFIX = '{"event":"thread.message.delta"'
_STAMP = '"sim_emitted_at":'


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


@dataclass
class Phase:
    streams: int
    tokens: int
    rate: float
    runs: int = 1
    latencies: list[float] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)  # emission time of each latency's delta
    first_deltas: list[float] = field(default_factory=list)  # ms from a start to its 1st delta
    start_replies: list[float] = field(default_factory=list)  # ms a start request took
    failed_runs: int = 0
    started_at: float = 0.0
    cpu_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def run_seconds(self) -> float:
        return self.tokens / self.rate

    @property
    def expected(self) -> int:
        return self.streams * self.tokens * self.runs

    @property
    def deltas(self) -> int:
        return len(self.latencies)

    def steady(self) -> list[float]:
        """Latencies of the deltas emitted while every client was streaming (all of them when
        each client makes one run)."""
        if self.runs < 2:
            return self.latencies
        start = self.started_at + self.run_seconds
        end = self.started_at + self.runs * self.run_seconds
        return [ms for ms, at in zip(self.latencies, self.stamps, strict=True) if start <= at < end]

    def pct(self, q: int) -> float:
        return pct(self.steady(), q)

    @property
    def cpu_ms_per_1k(self) -> float:
        return 1e6 * self.cpu_seconds / max(self.deltas, 1)

    @property
    def ok(self) -> bool:
        return self.deltas >= self.expected and self.pct(99) <= P99_LIMIT_MS

    def offset(self, client: int) -> float:
        return client * self.run_seconds / self.streams


def message(tokens: int, rate: float) -> str:
    return f"/sim stamp tokens={tokens} rate={rate:g} Tell me about rivers"


def emitted_at(raw: str) -> float | None:
    """The simulator's stamp in a delta frame, None for any other frame."""
    if not raw.startswith(_DELTA_PREFIX):
        return None
    at = raw.rindex(_STAMP) + len(_STAMP)
    end = at
    while raw[end] not in ",}":
        end += 1
    return float(raw[at:end])


async def read_run(socket: Any, phase: Phase, started: list[float]) -> None:
    """Record each delta's added latency until the run's last frame, and the time from the
    run's start request (`started[0]`, once sent) to its first delta."""
    latencies, stamps = phase.latencies, phase.stamps
    first = True
    while True:
        raw = await socket.recv()
        arrived = time.time()
        stamp = emitted_at(raw)
        if stamp is not None:
            latencies.append(1000 * (arrived - stamp))
            stamps.append(stamp)
            if first and started:
                phase.first_deltas.append(1000 * (arrived - started[0]))
                first = False
            continue
        event = json.loads(raw).get("event")
        if event in END_EVENTS:
            if event != "thread.run.completed":
                phase.failed_runs += 1
            return


async def one_run(socket: Any, phase: Phase, start: Callable[[], Awaitable[Any]]) -> None:
    started: list[float] = []

    async def send() -> None:
        started.append(time.time())
        await start()
        phase.start_replies.append(1000 * (time.time() - started[0]))

    # The reader waits before the start request goes: a frame's arrival is stamped on receipt.
    await asyncio.gather(read_run(socket, phase, started), send())


async def settle(proc: psutil.Process, within: float = 10.0) -> None:
    """Wait until the server is idle: work left over from the previous phase (sockets being
    closed, runs being written) must not be counted in the next one."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        before = proc.cpu_times()
        await asyncio.sleep(0.3)
        after = proc.cpu_times()
        if (after.user - before.user) + (after.system - before.system) <= 0.011:
            return


async def measured(proc: psutil.Process, phase: Phase, work: Callable[[], Awaitable[Any]]) -> Phase:
    """Run `work()` and count the server's CPU while it runs. A callable, not an awaitable:
    an awaitable such as gather's future would start before the count does."""
    await settle(proc)
    cpu, started = proc.cpu_times(), time.monotonic()
    phase.started_at = time.time()
    await work()
    after = proc.cpu_times()
    phase.cpu_seconds = (after.user - cpu.user) + (after.system - cpu.system)
    phase.seconds = time.monotonic() - started
    return phase


async def in_batches(coroutines: list[Awaitable[Any]], size: int = 50) -> list[Any]:
    results: list[Any] = []
    for i in range(0, len(coroutines), size):
        results += await asyncio.gather(*coroutines[i : i + size])
    return results


@contextmanager
def profiled(proc: psutil.Process, path: str | None) -> Iterator[None]:
    """py-spy (if installed) samples the server while the block runs: collapsed stacks of
    the thread holding the GIL."""
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not path or not os.path.exists(spy):
        if path:
            print("--profile: py-spy not found (pip install py-spy)", file=sys.stderr)
        yield
        return
    command = [spy, "record", "--pid", str(proc.pid), "--format", "raw", "--output", path,
               "--rate", "250", "--nonblocking", "--gil", "--threads"]  # fmt: skip
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # py-spy attaches
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=30)
