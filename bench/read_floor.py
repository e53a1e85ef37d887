"""The floor under a run worker's CPU: reading the upstream alone, beside the whole baseline relay.

    python -m bench.read_floor [--streams 200] [--rate 20] [--tokens 200] [--runs 3] [--json]

A run worker reads each run's stream from its upstream, and everything else it does (the
accumulated text, the frames, the Redis writes, the database) comes on top. This measures
what the read alone costs, at the relay benchmark's load against the simulator, each reader
in a process of its own that does nothing with the events:

- `httpx`: the baseline relay's read (httpx on anyio, httpx-sse), forwarding nothing;
- `worker`: the worker's own read (the Assistants adapter over `lean_http`: SSE decoding
  and each event parsed into a `StreamEvent`), relaying nothing;

then the whole baseline relay (`bench.baseline_relay`: the httpx read and a `websockets`
send per event) under the same load, in the same run. Each reader's CPU per 1,000 deltas is
reported with its ratio to the whole baseline relay's: a worker cannot spend less per delta
than its read does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from bench import harness
from bench.baseline_relay import ASSISTANT_ID
from bench.relay_load import Phase, message
from bench.relay_targets import baseline, baseline_phase

READERS = ("httpx", "worker")
# The baseline relay's pool (`bench.baseline_relay`).
BASELINE_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=1000)


def httpx_reader(upstream: str) -> tuple[httpx.AsyncClient, Callable[[str], Awaitable[int]]]:
    http = httpx.AsyncClient(timeout=httpx.Timeout(120.0), limits=BASELINE_LIMITS)

    async def read(text: str) -> int:
        body = {"assistant_id": ASSISTANT_ID, "stream": True,
                "thread": {"messages": [{"role": "user", "content": text}]}}  # fmt: skip
        deltas = 0
        async with aconnect_sse(http, "POST", upstream + "/threads/runs", json=body) as source:
            async for sse in source.aiter_sse():
                deltas += sse.event == "thread.message.delta"
        return deltas

    return http, read


def worker_reader(upstream: str) -> tuple[httpx.AsyncClient, Callable[[str], Awaitable[int]]]:
    from assistants_proxy import lean_http
    from assistants_proxy.upstreams import RunRequest, make_upstream

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=200)
    pool = lean_http.transport(ssl_context=httpx.create_ssl_context(), limits=limits)
    http = httpx.AsyncClient(transport=pool)
    adapter = make_upstream("assistants", http, base_url=upstream, api_key="sk-bench")

    async def read(text: str) -> int:
        request = RunRequest(model="sim", messages=[{"role": "user", "content": text}],
                             assistant_id=ASSISTANT_ID)  # fmt: skip
        deltas = 0
        async with adapter.start_run(request) as events:
            async for event in events:
                deltas += event.name == "thread.message.delta"
        return deltas

    return http, read


async def read_load(kind: str, upstream: str, phase: Phase) -> dict[str, float]:
    """Every stream's runs, staggered as the relay benchmark's clients are; this process's
    CPU over them."""
    http, read = (httpx_reader if kind == "httpx" else worker_reader)(upstream)
    text, counted = message(phase.tokens, phase.rate), [0]

    async def client(offset: float) -> None:
        await asyncio.sleep(offset)
        for _ in range(phase.runs):
            deltas = await read(text)  # awaited first: `+=` would read the count before it
            counted[0] += deltas

    before = time.process_time()
    await asyncio.gather(*(client(phase.offset(i)) for i in range(phase.streams)))
    cpu = time.process_time() - before
    await http.aclose()
    return {"deltas": counted[0], "cpu_seconds": cpu}


def reader_cpu(kind: str, upstream: str, args: argparse.Namespace) -> dict[str, float]:
    """One reader's load in a process of its own (`--child`)."""
    load = [f"--{k}={getattr(args, k)}" for k in ("streams", "rate", "tokens", "runs")]
    command = [harness.PYTHON, "-m", "bench.read_floor", "--child", kind, "--upstream", upstream]
    command += load
    done = subprocess.run(command, cwd=harness.ROOT, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def measure(args: argparse.Namespace) -> dict[str, Any]:
    phase = lambda: Phase(args.streams, args.tokens, args.rate, args.runs)  # noqa: E731
    report: dict[str, Any] = {"streams": args.streams, "rate": args.rate, "tokens": args.tokens,
                              "runs_per_stream": args.runs,
                              "expected_deltas": phase().expected}  # fmt: skip
    with harness.simulator(rate=args.rate) as (sim_url, _):
        with baseline(sim_url) as (base_url, base_proc):
            whole = asyncio.run(baseline_phase(base_url, base_proc, phase()))
        report["baseline_deltas"] = whole.deltas
        report["baseline_cpu_ms_per_1k_deltas"] = round(whole.cpu_ms_per_1k, 2)
        for kind in READERS:
            read = reader_cpu(kind, sim_url, args)
            per_1k = 1e6 * read["cpu_seconds"] / max(read["deltas"], 1)
            report[f"{kind}_read_deltas"] = read["deltas"]
            report[f"{kind}_read_cpu_ms_per_1k_deltas"] = round(per_1k, 2)
            report[f"{kind}_read_ratio_vs_baseline"] = round(per_1k / whole.cpu_ms_per_1k, 2)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=READERS, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        phase = Phase(args.streams, args.tokens, args.rate, args.runs)
        print(json.dumps(asyncio.run(read_load(args.child, args.upstream, phase))))
        return
    report = measure(args)
    for key, value in report.items():
        print(f"{key:40} {value}", file=sys.stderr)
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
