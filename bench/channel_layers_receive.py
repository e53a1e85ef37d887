"""The channel layer benchmark's receiving processes: channels in groups, each delivery's
latency per phase."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from bench.channel_layers_backends import END, PHASES, SILENCE_TIMEOUT, close, make_layer

# -- receiving processes ---------------------------------------------------------------------


@dataclass
class PhaseLog:
    latencies: list[float] = field(default_factory=list)
    last_arrival: float = 0.0
    ended: set[str] = field(default_factory=set)
    errors: int = 0
    error_types: set[str] = field(default_factory=set)


@dataclass
class ReceiverSpec:
    backend: str
    url: str
    prefix: str
    index: int
    subscribers: int
    groups: list[str]


def receiver_main(spec: ReceiverSpec, ready: Any, results: Any) -> None:
    asyncio.run(_receive_all(spec, ready, results))


async def _receive_all(spec: ReceiverSpec, ready: Any, results: Any) -> None:
    layer = make_layer(spec.backend, spec.url, spec.prefix)
    channels = [await layer.new_channel() for _ in range(spec.subscribers)]
    for i, channel in enumerate(channels):
        await layer.group_add(spec.groups[i % len(spec.groups)], channel)
    logs = {phase: PhaseLog() for phase in PHASES}
    activity = [time.monotonic()]
    cpu_before = psutil.Process().cpu_times()
    ready.put(spec.index)
    followers = asyncio.gather(*(_follow(layer, ch, logs, activity) for ch in channels))
    # Lost end markers must not hang the benchmark: give up after a silence.
    while not followers.done() and time.monotonic() - activity[0] < SILENCE_TIMEOUT:
        await asyncio.wait({followers}, timeout=1.0)
    cpu_after = psutil.Process().cpu_times()
    results.put({
        "cpu_s": (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system),
        "phases": {name: {"latencies": log.latencies, "last": log.last_arrival,
                          "errors": log.errors, "error_types": sorted(log.error_types)}
                   for name, log in logs.items()},
    })  # fmt: skip
    if not followers.done():
        # Receivers still waiting (a marker was lost): a receive that retries through errors
        # may not even end on cancel, so leave without waiting for them.
        results.close()
        results.join_thread()
        os._exit(0)
    await close(layer)


async def _follow(
    layer: Any, channel: str, logs: dict[str, PhaseLog], activity: list[float]
) -> None:
    """Receive on one channel until it saw the end marker of every phase."""
    for phase in PHASES:
        log = logs[phase]
        while channel not in log.ended:
            try:
                message = await layer.receive(channel)
            except Exception as exc:  # a consumer would be closed here; the benchmark counts it
                log.errors += 1
                log.error_types.add(type(exc).__name__)
                await asyncio.sleep(0.01)  # an error raised at once must not starve the loop
                continue
            now = activity[0] = time.monotonic()
            if message["type"] == END:
                logs[message["phase"]].ended.add(channel)
                continue
            target = logs[message["phase"]]
            target.latencies.append(now - message["t"])
            target.last_arrival = max(target.last_arrival, now)
