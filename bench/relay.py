"""The relay benchmark: the app against a minimal baseline relay, at the same load, in one run.

    python -m bench.relay [--streams 200] [--rate 20] [--tokens 200] [--quick] [--json]

Starts the simulator, the app (daphne, one process) and the baseline relay
(`bench.baseline_relay`) as processes on loopback. N WebSocket clients each watch their own
run of T tokens at R tokens/s. The simulator stamps each delta with its emission time, so
added latency is the delta's arrival at the client minus its emission (one clock: one
machine). CPU is the server process's own, per 1,000 deltas relayed. Every figure that
matters is a ratio against the baseline measured in the same run: this machine is noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil
import websockets

from bench import harness

END_EVENTS = {"thread.run.completed", "thread.run.failed", "thread.run.cancelled",
              "thread.run.incomplete", "thread.run.expired"}  # fmt: skip
P99_LIMIT_MS = 50.0


@dataclass
class Phase:
    streams: int
    expected: int
    latencies: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def deltas(self) -> int:
        return len(self.latencies)

    def pct(self, q: int) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1]

    @property
    def cpu_ms_per_1k(self) -> float:
        return 1e6 * self.cpu_seconds / max(self.deltas, 1)


def message(tokens: int, rate: float) -> str:
    return f"/sim stamp tokens={tokens} rate={rate:g} Tell me about rivers"


async def read_run(socket: Any, phase: Phase) -> None:
    """Record each delta's added latency until the run's last frame."""
    while True:
        raw = await socket.recv()
        arrived = time.time()
        frame = json.loads(raw)
        event = frame.get("event")
        if event == "thread.message.delta":
            phase.latencies.append(1000 * (arrived - frame["data"]["sim_emitted_at"]))
        elif event in END_EVENTS:
            return


async def measured(proc: psutil.Process, phase: Phase, work: Awaitable[Any]) -> Phase:
    cpu, started = proc.cpu_times(), time.monotonic()
    await work
    after = proc.cpu_times()
    phase.cpu_seconds = (after.user - cpu.user) + (after.system - cpu.system)
    phase.seconds = time.monotonic() - started
    return phase


# -- the app ------------------------------------------------------------------------------


class AppClients:
    """Logged-in clients, one thread and one open socket per stream."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http: httpx.AsyncClient | None = None
        self.threads: list[int] = []
        self.sockets: list[Any] = []

    async def grow(self, streams: int) -> None:
        self.http = self.http or await harness.login(self.base)
        new = [await self._thread() for _ in range(streams - len(self.threads))]
        self.threads += new
        self.sockets += [await harness.open_socket(self.http, t) for t in new]
        for thread_id in new:  # one at a time: 800 pollers at once would be the load
            await self._idle(thread_id)

    async def _thread(self) -> int:
        assert self.http is not None
        body = await harness.post_json(self.http, "/api/threads/", {"content": message(1, 1000)})
        return int(body["thread"]["id"])  # type: ignore[index]

    async def _idle(self, thread_id: int) -> None:
        assert self.http is not None
        while True:
            runs = (await self.http.get(f"/api/threads/{thread_id}/")).json()["runs"]
            if runs[-1]["status"] in ("completed", "failed", "cancelled", "incomplete"):
                return
            await asyncio.sleep(0.2)

    async def run(self, phase: Phase, tokens: int, rate: float) -> None:
        assert self.http is not None
        streams = list(zip(self.threads, self.sockets, strict=True))[: phase.streams]
        readers = [asyncio.ensure_future(read_run(s, phase)) for _, s in streams]
        body = {"content": message(tokens, rate)}
        await asyncio.gather(*(
            harness.post_json(self.http, f"/api/threads/{t}/messages/", body) for t, _ in streams
        ))  # fmt: skip
        await asyncio.gather(*readers)

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sockets))
        if self.http is not None:
            await self.http.aclose()


# -- the baseline -------------------------------------------------------------------------


@contextmanager
def baseline(sim_url: str) -> Iterator[tuple[str, psutil.Process]]:
    port = harness.free_port()
    command = [sys.executable, "-m", "bench.baseline_relay", "--port", str(port),
               "--upstream", sim_url]  # fmt: skip
    proc = subprocess.Popen(command, cwd=harness.ROOT, env=dict(os.environ))
    try:
        harness.wait_port(port)
        yield f"ws://127.0.0.1:{port}", psutil.Process(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def baseline_run(url: str, phase: Phase, tokens: int, rate: float) -> None:
    async def one() -> None:
        async with websockets.connect(url, max_size=None, compression=None) as socket:
            await socket.send(message(tokens, rate))
            await read_run(socket, phase)

    await asyncio.gather(*(one() for _ in range(phase.streams)))


# -- the measurements ---------------------------------------------------------------------

Runner = Callable[[Phase], Awaitable[None]]


async def load(proc: psutil.Process, runner: Runner, streams: int, tokens: int) -> Phase:
    phase = Phase(streams=streams, expected=streams * tokens)
    return await measured(proc, phase, runner(phase))


async def ramp(proc: psutil.Process, runner: Callable[[int], Runner], steps: list[int],
               tokens: int, rate: float) -> float:  # fmt: skip
    """Highest sustained deltas/s before p99 passes the limit (or deltas go missing)."""
    best = 0.0
    for streams in steps:
        phase = await load(proc, runner(streams), streams, tokens)
        if phase.deltas < phase.expected or phase.pct(99) > P99_LIMIT_MS:
            break
        best = streams * rate
    return best


async def idle_memory(app: AppClients, proc: psutil.Process, connections: int) -> float:
    assert app.http is not None
    before = proc.memory_info().rss
    sockets = [await harness.open_socket(app.http, app.threads[0]) for _ in range(connections)]
    await asyncio.sleep(1.0)
    after = proc.memory_info().rss
    await asyncio.gather(*(s.close() for s in sockets))
    return (after - before) / connections / 1024


async def growth(app: AppClients, proc: psutil.Process, long_tokens: int) -> float:
    """Server CPU per delta for a long reply over that for a 100-token reply."""

    async def per_delta(tokens: int, rate: float) -> float:
        phase = await load(proc, lambda p: app.run(p, tokens, rate), 1, tokens)
        return phase.cpu_seconds / max(phase.deltas, 1)

    short = statistics.median([await per_delta(100, 1000) for _ in range(5)])
    return await per_delta(long_tokens, 4000) / short


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    streams, rate, tokens = args.streams, args.rate, args.tokens
    steps = [50, 100, 200, 300] if args.quick else [100, 200, 300, 400, 600, 800]
    with harness.simulator(rate=rate) as (sim_url, _), harness.app(sim_url, server=args.server) as (base, app_proc), \
            baseline(sim_url) as (base_url, base_proc):  # fmt: skip
        app = AppClients(base)
        await app.grow(max(streams, *steps))
        ours = await load(app_proc, lambda p: app.run(p, tokens, rate), streams, tokens)
        theirs = await load(base_proc, lambda p: baseline_run(base_url, p, tokens, rate),
                            streams, tokens)  # fmt: skip
        ramp_tokens = max(40, int(rate * 3))
        our_max = await ramp(app_proc, lambda n: lambda p: app.run(p, ramp_tokens, rate),
                             steps, ramp_tokens, rate)  # fmt: skip
        their_max = await ramp(base_proc, lambda n: lambda p: baseline_run(
            base_url, p, ramp_tokens, rate), steps, ramp_tokens, rate)  # fmt: skip
        kb = await idle_memory(app, app_proc, 200 if args.quick else 1000)
        growth_ratio = await growth(app, app_proc, 10_000 if args.quick else 100_000)
        await app.close()
    return report(args, ours, theirs, our_max, their_max, kb, growth_ratio)


def report(args: argparse.Namespace, ours: Phase, theirs: Phase, our_max: float,
           their_max: float, kb: float, growth_ratio: float) -> dict[str, Any]:  # fmt: skip
    r2 = lambda x: round(x, 2)  # noqa: E731
    return {
        "layer": "redis" if os.environ.get("REDIS_URL") else "memory",
        "server": args.server,
        "streams": ours.streams, "rate": args.rate, "tokens": args.tokens,
        "deltas": ours.deltas, "expected_deltas": ours.expected,
        "baseline_deltas": theirs.deltas,
        "p50_ms": r2(ours.pct(50)), "p99_ms": r2(ours.pct(99)), "max_ms": r2(max(ours.latencies)),
        "baseline_p50_ms": r2(theirs.pct(50)), "baseline_p99_ms": r2(theirs.pct(99)),
        "p99_ratio_vs_baseline": r2(ours.pct(99) / theirs.pct(99)),
        "cpu_ms_per_1k_deltas": r2(ours.cpu_ms_per_1k),
        "baseline_cpu_ms_per_1k_deltas": r2(theirs.cpu_ms_per_1k),
        "cpu_ratio_vs_baseline": r2(ours.cpu_ms_per_1k / theirs.cpu_ms_per_1k),
        "max_deltas_per_s": our_max, "baseline_max_deltas_per_s": their_max,
        "kb_per_idle_connection": r2(kb),
        "growth_ratio": r2(growth_ratio),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--server", choices=sorted(harness.SERVERS), default="daphne")
    args = parser.parse_args()
    if args.quick:
        args.streams, args.tokens = min(args.streams, 100), min(args.tokens, 60)
    result = asyncio.run(measure(args))
    for key, value in result.items():
        print(f"{key:32} {value}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
