"""The relay benchmark's measurements beyond the load: the ramp to the highest sustained rate,
memory per idle connection, and CPU per delta as replies grow."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import psutil

from bench import harness
from bench.relay_load import Phase, in_batches, measured, message, one_run, settle
from bench.relay_targets import AppClients

GROWTH_RATE = 2000.0  # tokens/s for both replies of the growth measurement (4000 in quick mode)


async def ramp(measure_one: Callable[[Phase], Awaitable[Phase]], steps: list[int],
               tokens: int, rate: float, label: str) -> float:  # fmt: skip
    """Highest sustained deltas/s before p99 passes the limit (or deltas go missing)."""
    best = 0.0
    for streams in steps:
        phase = await measure_one(Phase(streams=streams, tokens=tokens, rate=rate, runs=2))
        busy = 100 * phase.cpu_seconds / max(phase.seconds, 1e-9)  # of one core
        print(f"  ramp {label:8} {streams:4} streams: p99 {phase.pct(99):8.2f} ms, "
              f"{phase.deltas}/{phase.expected} deltas, server CPU {busy:3.0f} %",
              file=sys.stderr)  # fmt: skip
        if not phase.ok:
            break
        best = streams * rate
    return best


async def idle_memory(app: AppClients, proc: psutil.Process, connections: int) -> float:
    assert app.http is not None
    await settle(proc)
    before = proc.memory_info().rss
    sockets = await in_batches(
        [harness.open_socket(app.http, app.threads[0]) for _ in range(connections)]
    )
    await asyncio.sleep(1.0)
    after = proc.memory_info().rss
    await asyncio.gather(*(s.close() for s in sockets))
    return (after - before) / connections / 1024


@dataclass
class Growth:
    ratio: float
    run_fixed_cpu_ms: float
    short_us_per_delta: float
    long_us_per_delta: float


async def growth(app: AppClients, proc: psutil.Process, long_tokens: int, runs: int,
                 rate: float = GROWTH_RATE) -> Growth:  # fmt: skip
    """Server CPU per delta of a long reply over that of a 100-token reply.

    Per delta means the marginal cost: what a run costs whatever its length (the POST, the
    run's opening and closing events, its database writes), measured with 1-token runs, is
    taken off first. Without that, a 100-token reply carries a fixed cost the long reply
    spreads thin, and the ratio would hide an O(N^2) behind it. Many short runs are summed:
    the kernel counts a process's CPU time in 10 ms ticks."""

    async def cpu_per_run(tokens: int, count: int) -> float:
        phase = Phase(streams=1, tokens=tokens, rate=rate)

        async def work() -> None:
            path = f"/api/threads/{app.threads[0]}/messages/"
            body: dict[str, object] = {"content": message(tokens, rate)}
            for _ in range(count):
                await one_run(
                    app.sockets[0], phase, lambda: harness.post_json(app.http, path, body)
                )

        await measured(proc, phase, work)
        return phase.cpu_seconds / count

    fixed = await cpu_per_run(1, runs)  # 1 delta: the per-run cost, plus one delta's
    short = (await cpu_per_run(100, runs) - fixed) / 99
    long = (await cpu_per_run(long_tokens, 1) - fixed) / (long_tokens - 1)
    return Growth(long / short, 1000 * fixed, 1e6 * short, 1e6 * long)
