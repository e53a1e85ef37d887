"""The channel layer benchmark's sending process: group_sends paced, in a burst, and around a
kill of the receivers' connections."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.channel_layers_backends import END

# -- the sending process (this one) ----------------------------------------------------------


def _message(phase: str, pad: str) -> dict[str, Any]:
    return {"type": "bench.msg", "phase": phase, "t": time.monotonic(), "pad": pad}


async def _end_phase(layer: Any, phase: str, groups: list[str]) -> None:
    for group in groups:
        await layer.group_send(group, {"type": END, "phase": phase})


async def send_paced(layer: Any, groups: list[str], count: int, rate: float, pad: str) -> None:
    start = time.monotonic()
    for i in range(count):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        await layer.group_send(groups[i % len(groups)], _message("latency", pad))
    await _end_phase(layer, "latency", groups)


async def send_with_kill(
    layer: Any, groups: list[str], count: int, rate: float, pad: str, kill: Any
) -> None:
    start = time.monotonic()
    for i in range(count):
        if i == count // 2:
            await asyncio.to_thread(kill)
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        await layer.group_send(groups[i % len(groups)], _message("reconnect", pad))
    await asyncio.sleep(1.0)  # let the receivers reconnect before the end markers
    await _end_phase(layer, "reconnect", groups)


async def send_burst(
    layer: Any, groups: list[str], count: int, concurrency: int, pad: str
) -> tuple[float, float]:
    """All sends as fast as `concurrency` tasks go; (first send, last send completed)."""
    todo = iter(range(count))

    async def sender() -> None:
        for i in todo:
            await layer.group_send(groups[i % len(groups)], _message("burst", pad))

    start = time.monotonic()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    sent = time.monotonic()
    await _end_phase(layer, "burst", groups)
    return start, sent
