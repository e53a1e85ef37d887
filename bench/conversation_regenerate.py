"""Regenerate against a new message: from the POST to the run's first frame, and to its
first delta, at a WebSocket client with the thread open, side by side in one run.

    nice -n 10 python -m bench.conversation_regenerate [--rounds 40] [--json]

The simulator and the app (daphne, SQLite in a temporary directory, `bench.harness`) on
loopback; the simulator's first token is due at once (its pace only spaces the later ones).
Each round sends a new message and makes the newest reply again, each waited to its end, in
turn first: the two requests alternate, so the machine's load falls on both alike. The thread
grows by a turn and a version per round, as a conversation does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from bench import harness

MESSAGE = "/sim tokens=3 Tell me something"
RUN_FRAMES = ("thread.run.", "thread.message.")  # not thread.branch or thread.title
END_EVENTS = {"thread.run.completed", "thread.run.failed", "thread.run.cancelled"}


async def _first_frames(socket: Any, started: float) -> tuple[float, float]:
    """Milliseconds to the run's first frame and to its first delta; then to its end."""
    first = delta = 0.0
    while True:
        event = json.loads(await socket.recv())["event"]
        now = (time.perf_counter() - started) * 1000
        if not first and event.startswith(RUN_FRAMES):
            first = now
        if not delta and event == "thread.message.delta":
            delta = now
        if event in END_EVENTS:
            return first, delta


async def _settled(client: Any, thread_id: int) -> None:
    """Until the thread's first run has ended: it may have, before the socket opened."""
    while True:
        runs = (await client.get(f"/api/threads/{thread_id}/")).json()["runs"]
        if all(run["status"] in {"completed", "failed", "cancelled"} for run in runs):
            return
        await asyncio.sleep(0.05)


async def _last_user_message(client: Any, thread_id: int) -> int:
    messages = (await client.get(f"/api/threads/{thread_id}/")).json()["messages"]
    return int(next(m["id"] for m in reversed(messages) if m["role"] == "user"))


async def rounds(base: str, count: int) -> dict[str, list[tuple[float, float]]]:
    client = await harness.login(base)
    thread = (await harness.post_json(client, "/api/threads/", {"content": MESSAGE}))["thread"]
    thread_id = int(thread["id"])  # type: ignore[index]
    socket = await harness.open_socket(client, thread_id)
    await _settled(client, thread_id)
    found: dict[str, list[tuple[float, float]]] = {"new message": [], "regenerate": []}
    path = f"/api/threads/{thread_id}/messages/"
    for index in range(count):
        # Each POST follows a GET of the thread and the end of the run before, whichever
        # comes first in the round: neither request finds the app in a state the other
        # does not.
        for kind in sorted(found, reverse=index % 2 == 1):
            message_id = await _last_user_message(client, thread_id)
            again = kind == "regenerate"
            target = f"{path}{message_id}/regenerate/" if again else path
            started = time.perf_counter()
            await harness.post_json(client, target, {} if again else {"content": MESSAGE})
            found[kind].append(await _first_frames(socket, started))
    await socket.close()
    await client.aclose()
    return found


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return {"median_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1)}


def summarise(found: dict[str, list[tuple[float, float]]]) -> dict[str, Any]:
    result: dict[str, Any] = {"rounds": len(found["new message"])}
    for kind, pairs in found.items():
        result[kind] = {
            "first_frame": summary([first for first, _ in pairs]),
            "first_delta": summary([delta for _, delta in pairs]),
        }
    for point in ("first_frame", "first_delta"):
        added = result["regenerate"][point]["median_ms"] - result["new message"][point]["median_ms"]
        result[f"regenerate_adds_{point}_ms"] = round(added, 1)
    return result


async def main_async(count: int) -> dict[str, Any]:
    with harness.simulator(rate=1000.0) as (sim_url, _), harness.app(sim_url) as (base, _):
        return summarise(await rounds(base, count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = {"load_before": harness.load_average(), **asyncio.run(main_async(args.rounds))}
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
