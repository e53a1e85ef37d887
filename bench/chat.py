"""From the POST of a message to its first delta frame at a WebSocket client.

    python -m bench.chat [--runs 40] [--quick] [--json]

Starts the simulator and the app (daphne) as processes on loopback. For each run it times the
app (POST /api/threads/<id>/messages/ until the first `thread.message.delta` frame arrives on
an open socket) and the simulator alone (POST .../runs with stream=true until its first delta),
and reports the difference: what the app adds before the first token.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import httpx

from assistants_proxy.client import AssistantsClient
from bench import harness

MESSAGE = "/sim tokens=3 Tell me something"
END_EVENTS = {"thread.run.completed", "thread.run.failed", "thread.run.cancelled"}


async def app_first_delta(base: str, runs: int) -> list[float]:
    client = await harness.login(base)
    thread = (await harness.post_json(client, "/api/threads/", {"content": MESSAGE}))["thread"]
    thread_id = int(thread["id"])  # type: ignore[index]
    socket = await harness.open_socket(client, thread_id)
    await _until(socket, END_EVENTS)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        await harness.post_json(client, f"/api/threads/{thread_id}/messages/", {"content": MESSAGE})
        await _until(socket, {"thread.message.delta"})
        timings.append(time.perf_counter() - started)
        await _until(socket, END_EVENTS)
    await socket.close()
    await client.aclose()
    return timings


async def _until(socket: Any, names: set[str]) -> None:
    while json.loads(await socket.recv())["event"] not in names:
        pass


async def simulator_first_delta(sim_url: str, runs: int) -> list[float]:
    timings = []
    async with httpx.AsyncClient() as http:
        client = AssistantsClient(http, base_url=sim_url)
        assistant = (await client.create_assistant(model="gpt-4o"))["id"]
        thread = (await client.create_thread())["id"]
        for _ in range(runs):
            await client.create_message(thread, role="user", content=MESSAGE)
            started, first = time.perf_counter(), None
            async with client.stream_run(thread, assistant_id=assistant) as events:
                async for event in events:
                    if event.name == "thread.message.delta" and first is None:
                        first = time.perf_counter() - started
            timings.append(first or 0.0)
    return timings


def summarise(app: list[float], sim: list[float]) -> dict[str, float]:
    ms = lambda xs, q: 1000 * statistics.quantiles(xs, n=100)[q - 1]  # noqa: E731
    app_p50, sim_p50 = 1000 * statistics.median(app), 1000 * statistics.median(sim)
    return {
        "runs": len(app),
        "app_first_delta_p50_ms": round(app_p50, 2),
        "app_first_delta_p99_ms": round(ms(app, 99), 2),
        "simulator_first_delta_p50_ms": round(sim_p50, 2),
        "added_p50_ms": round(app_p50 - sim_p50, 2),
    }


async def main_async(runs: int) -> dict[str, float]:
    with harness.simulator(rate=30.0) as (sim_url, _), harness.app(sim_url) as (base, _):
        sim = await simulator_first_delta(sim_url, runs)
        app = await app_first_delta(base, runs)
    return summarise(app, sim)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(main_async(10 if args.quick else args.runs))
    for key, value in result.items():
        print(f"{key:32} {value}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
