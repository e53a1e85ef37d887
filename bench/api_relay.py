"""The Assistants API's streams against the WebSocket relay, in one app process, in one run.

    python -m bench.api_relay [--streams 200] [--rate 20] [--tokens 100] [--rounds 2]
                              [--first-runs 30] [--only load,first] [--quick] [--json]

Starts the simulator and the app (one daphne process, SQLite) on loopback. A load is N runs
streaming at once at R tokens/s, T tokens each, their starts spread over one run's length:

- web: each client has a thread with its WebSocket open, and POSTs a message to start each
  run (the browser's path);
- api: each client has a thread, and POSTs /v1/threads/{id}/runs with stream=true and the
  message in `additional_messages`, reading the server-sent events (what an application
  written for the Assistants API does).

The clients and their threads are made before the loads, a few at a time.

The app process's CPU over each load, per delta delivered, is the figure; the two loads
alternate (`--rounds` of each), so that a drift of this shared machine hits both alike. Every
client counts its deltas: a run that delivered fewer than T, or did not end, is a lost delta.

Then, one run at a time, the time to the first delta: the web path (a message POSTed to a
thread whose socket is open, as `bench.chat` measures it) against the API's create-and-run
(a new thread and run in one POST, streamed) and the API's run on an existing thread.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import re
import statistics
import sys
import time
from typing import Any

import httpx
import psutil

from bench import chat, harness

END_EVENTS = ("thread.run.completed", "thread.run.failed", "thread.run.cancelled",
              "thread.run.incomplete", "thread.run.expired")  # fmt: skip
ACTIVE = ("queued", "in_progress", "requires_action", "cancelling")
_DELTA_FRAME = '{"event":"thread.message.delta"'
_DELTA_EVENT = b"event: thread.message.delta\n"


def message(tokens: int, rate: float) -> str:
    return f"/sim tokens={tokens} rate={rate:g} Tell me about rivers"


async def api_key(base: str) -> str:
    """A key made on the keys page, as a user makes one."""
    client = await harness.login(base)
    page = await client.post("/keys/", data={"name": "bench"})
    await client.aclose()
    found = re.search(r'<code id="new-key">([^<]+)</code>', page.text)
    if found is None:
        raise RuntimeError(f"no key on the keys page ({page.status_code})")
    return found.group(1)


def api_client(base: str, key: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    headers = {"Authorization": f"Bearer {key}", "OpenAI-Beta": "assistants=v2"}
    return httpx.AsyncClient(base_url=f"{base}/v1", headers=headers, timeout=120, limits=limits)


class ApiStreams:
    """An application's client: its own thread, each run started streamed on it."""

    def __init__(self, client: httpx.AsyncClient, assistant: str, thread: str) -> None:
        self.client, self.assistant, self.thread = client, assistant, thread

    async def run(self, text: str) -> tuple[int, bool]:
        """(deltas received, whether the stream ended with `done`)."""
        body = {"assistant_id": self.assistant, "stream": True,
                "additional_messages": [{"role": "user", "content": text}]}  # fmt: skip
        deltas, carry = 0, b""
        path = f"/threads/{self.thread}/runs"
        async with self.client.stream("POST", path, json=body) as response:
            async for chunk in response.aiter_bytes():
                # An event line may be split across chunks: the carry is too short to hold
                # a whole one, so none is counted twice.
                data = carry + chunk
                deltas += data.count(_DELTA_EVENT)
                carry = data[-(len(_DELTA_EVENT) - 1) :]
        return deltas, carry.endswith(b"data: [DONE]\n\n")


class WebSocketStreams:
    """A browser: its own thread with its socket open, each run started by a POST."""

    def __init__(self, client: httpx.AsyncClient, thread_id: int, socket: Any) -> None:
        self.client, self.thread_id, self.socket = client, thread_id, socket

    async def run(self, text: str) -> tuple[int, bool]:
        path = f"/api/threads/{self.thread_id}/messages/"
        await harness.post_json(self.client, path, {"content": text})
        return await self.until_end()

    async def until_end(self) -> tuple[int, bool]:
        deltas = 0
        while True:
            frame = await self.socket.recv()
            if frame.startswith(_DELTA_FRAME):
                deltas += 1
            elif any(f'"event":"{name}"' in frame[:40] for name in END_EVENTS):
                return deltas, '"thread.run.completed"' in frame[:40]


async def _detail(client: httpx.AsyncClient, thread_id: int) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = (await client.get(f"/api/threads/{thread_id}/")).json()["runs"]
    return runs


async def open_clients(
    base: str, key: str, count: int
) -> tuple[list[WebSocketStreams], list[ApiStreams], list[httpx.AsyncClient]]:
    """`count` clients of each kind, each with its thread, opened a few at a time: the
    handshakes are set-up, not load."""
    web, api = await harness.login(base), api_client(base, key)
    assistant = (await api.post("/assistants", json={"model": "gpt-4o"})).json()["id"]
    gate = asyncio.Semaphore(10)

    async def browser() -> WebSocketStreams:
        async with gate:
            made = await harness.post_json(web, "/api/threads/", {"content": "Hello"})
            thread_id = int(made["thread"]["id"])  # type: ignore[index]
            # The socket opens once the first run has ended: it then replays nothing, and
            # the first measured run's frames are the first it gets.
            for _ in range(600):  # 30 s at most
                if not any(run["status"] in ACTIVE for run in await _detail(web, thread_id)):
                    break
                await asyncio.sleep(0.05)
            return WebSocketStreams(web, thread_id, await harness.open_socket(web, thread_id))

    async def application() -> ApiStreams:
        async with gate:
            thread = (await api.post("/threads", json={})).json()["id"]
            return ApiStreams(api, assistant, thread)

    browsers = await asyncio.gather(*(browser() for _ in range(count)))
    applications = await asyncio.gather(*(application() for _ in range(count)))
    return list(browsers), list(applications), [web, api]


async def load(proc: psutil.Process, starts: list[Any], spread: float) -> dict[str, float]:
    """Run the clients' coroutines with their starts spread; the app's CPU over the load."""

    async def later(index: int, start: Any) -> tuple[int, bool]:
        await asyncio.sleep(spread * index / len(starts))
        return await start()  # type: ignore[no-any-return]

    before, began = proc.cpu_times(), time.monotonic()
    results = await asyncio.gather(*(later(i, s) for i, s in enumerate(starts)))
    after = proc.cpu_times()
    cpu = (after.user - before.user) + (after.system - before.system)
    deltas = sum(count for count, _ in results)
    return {
        "cpu_s": cpu,
        "deltas": deltas,
        "unfinished": sum(1 for _, ended in results if not ended),
        "seconds": time.monotonic() - began,
        "cpu_ms_per_1000_deltas": 1e6 * cpu / max(deltas, 1),
    }


async def loads(base: str, proc: psutil.Process, args: argparse.Namespace) -> dict[str, Any]:
    text, spread = message(args.tokens, args.rate), args.tokens / args.rate
    browsers, applications, http = await open_clients(base, await api_key(base), args.streams)
    clients: dict[str, list[Any]] = {"web": browsers, "api": applications}
    found: dict[str, list[dict[str, float]]] = {"web": [], "api": []}
    for round_ in range(args.rounds):
        for kind, group in clients.items():
            result = await load(proc, [functools.partial(c.run, text) for c in group], spread)
            found[kind].append(result)
            print(f"  round {round_ + 1} {kind}: {json.dumps(_rounded(result))}", file=sys.stderr)
    for browser in browsers:
        await browser.socket.close()
    for client in http:
        await client.aclose()
    return _summary(found, args)


def _summary(found: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> dict[str, Any]:
    per = {kind: [r["cpu_ms_per_1000_deltas"] for r in rounds] for kind, rounds in found.items()}
    expected = args.streams * args.tokens * args.rounds
    return {
        "streams": args.streams,
        "rate": args.rate,
        "tokens": args.tokens,
        "rounds": args.rounds,
        "web_cpu_ms_per_1000_deltas": [round(x, 1) for x in per["web"]],
        "api_cpu_ms_per_1000_deltas": [round(x, 1) for x in per["api"]],
        "cpu_ratio_api_over_web": round(
            statistics.median(per["api"]) / statistics.median(per["web"]), 3
        ),
        "web_deltas_lost": expected - sum(int(r["deltas"]) for r in found["web"]),
        "api_deltas_lost": expected - sum(int(r["deltas"]) for r in found["api"]),
        "unfinished_runs": sum(int(r["unfinished"]) for rs in found.values() for r in rs),
    }


def _rounded(result: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 2) for key, value in result.items()}


async def api_first_delta(base: str, key: str, runs: int, *, new_thread: bool) -> list[float]:
    client = api_client(base, key)
    assistant = (await client.post("/assistants", json={"model": "gpt-4o"})).json()["id"]
    thread = (await client.post("/threads", json={})).json()["id"]
    user = {"role": "user", "content": chat.MESSAGE}
    timings = []
    for _ in range(runs):
        if new_thread:
            path, body = "/threads/runs", {"thread": {"messages": [user]}}
        else:
            path, body = f"/threads/{thread}/runs", {"additional_messages": [user]}
        started, first = time.perf_counter(), 0.0
        async with client.stream(
            "POST", path, json={**body, "assistant_id": assistant, "stream": True}
        ) as response:
            async for chunk in response.aiter_bytes():
                if not first and _DELTA_EVENT in chunk:
                    first = time.perf_counter() - started
        timings.append(first)
    await client.aclose()
    return timings


async def first_deltas(base: str, runs: int) -> dict[str, float]:
    key = await api_key(base)
    ms = lambda xs: round(1000 * statistics.median(xs), 2)  # noqa: E731
    web = await chat.app_first_delta(base, runs)
    created = await api_first_delta(base, key, runs, new_thread=True)
    existing = await api_first_delta(base, key, runs, new_thread=False)
    web_again = await chat.app_first_delta(base, runs)  # the web path before and after
    web_p50 = round(statistics.median([ms(web), ms(web_again)]), 2)
    return {
        "first_runs": runs,
        "web_first_delta_p50_ms": web_p50,
        "api_create_and_run_first_delta_p50_ms": ms(created),
        "api_run_first_delta_p50_ms": ms(existing),
        "api_create_and_run_added_ms": round(ms(created) - web_p50, 2),
        "api_run_added_ms": round(ms(existing) - web_p50, 2),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with harness.simulator(rate=args.rate) as (sim_url, _), harness.app(sim_url) as (base, proc):
        result = await loads(base, proc, args) if "load" in args.only else {}
        if "first" in args.only:
            result.update(await first_deltas(base, args.first_runs))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--tokens", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--first-runs", type=int, default=30)
    parser.add_argument("--only", default="load,first", help="load, first or both")
    parser.add_argument("--quick", action="store_true", help="20 streams, 1 round, 10 runs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.streams, args.rounds, args.first_runs = 20, 1, 10
    result = asyncio.run(main_async(args))
    for key, value in result.items():
        print(f"{key:40} {value}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
