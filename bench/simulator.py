"""Simulator pacing under load: many concurrent streams, each measured against its schedule.

    python -m bench.simulator [--streams 200] [--rate 30] [--tokens 150] [--quick] [--json]

Starts the simulator in a subprocess on a free port, opens all streams at once and records
when each ``thread.message.delta`` arrives. Token i of a stream is due at ``t0 + i / rate``,
t0 being its first delta; a stream's lag is its latest token's lateness as a percentage of
the ideal duration ``(tokens - 1) / rate``. The requirement is p99 and max under 10 %.
The client reads raw sockets so that its own parsing cost stays out of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
ASSISTANT_ID = "asst_simulator000000000000000"
DELTA = b"event: thread.message.delta"
DONE = b"event: done"


@dataclass
class StreamResult:
    arrivals: list[float]
    requested_at: float
    complete: bool

    def lag_percent(self, rate: float) -> float:
        t0, ideal = self.arrivals[0], (len(self.arrivals) - 1) / rate
        late = max(at - (t0 + i / rate) for i, at in enumerate(self.arrivals))
        return 100 * late / ideal

    @property
    def first_delta_ms(self) -> float:
        return 1000 * (self.arrivals[0] - self.requested_at)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_simulator(port: int, rate: float) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "assistants_proxy.simulator",
        "--port",
        str(port),
        "--rate",
        str(rate),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


async def wait_ready(port: int, within: float = 15) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise RuntimeError(f"the simulator did not listen on port {port} within {within} s")


def request_bytes(port: int, tokens: int) -> bytes:
    text = f"/sim tokens={tokens} Tell me about rivers"
    thread = {"messages": [{"role": "user", "content": text}]}
    body = json.dumps({"assistant_id": ASSISTANT_ID, "stream": True, "thread": thread}).encode()
    head = (
        f"POST /v1/threads/runs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\nOpenAI-Beta: assistants=v2\r\n"
        f"Authorization: Bearer sk-bench\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def one_stream(port: int, request: bytes) -> StreamResult:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    result = StreamResult([], time.monotonic(), complete=False)
    writer.write(request)
    try:
        while block := await reader.readuntil(b"\n\n"):
            if DELTA in block:
                result.arrivals.append(time.monotonic())
            elif DONE in block:
                result.complete = True
                break
    except asyncio.IncompleteReadError:
        pass
    finally:
        writer.close()
    return result


async def run_load(port: int, streams: int, tokens: int) -> list[StreamResult]:
    request = request_bytes(port, tokens)
    return await asyncio.gather(*(one_stream(port, request) for _ in range(streams)))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summarize(results: list[StreamResult], args: argparse.Namespace, cpu: float) -> dict:
    lags = [r.lag_percent(args.rate) for r in results if len(r.arrivals) > 1]
    firsts = [r.first_delta_ms for r in results if r.arrivals]
    return {
        "streams": args.streams,
        "rate": args.rate,
        "tokens": args.tokens,
        "complete": sum(r.complete and len(r.arrivals) == args.tokens for r in results),
        "lag_pct_p50": round(statistics.median(lags), 2),
        "lag_pct_p99": round(percentile(lags, 99), 2),
        "lag_pct_max": round(max(lags), 2),
        "first_delta_ms_p50": round(statistics.median(firsts), 1),
        "first_delta_ms_p99": round(percentile(firsts, 99), 1),
        "server_cpu_pct": round(cpu, 1),
        "cpus": os.cpu_count(),
    }


def print_table(summary: dict) -> None:
    print(
        f"simulator pacing: {summary['streams']} streams x {summary['tokens']} tokens "
        f"at {summary['rate']:g} tokens/s ({summary['cpus']} CPUs)"
    )
    print(f"  complete streams        {summary['complete']}/{summary['streams']}")
    print("                          p50      p99      max")
    print(
        f"  lag (% of ideal)    {summary['lag_pct_p50']:8.2f} {summary['lag_pct_p99']:8.2f} "
        f"{summary['lag_pct_max']:8.2f}"
    )
    print(
        f"  first delta (ms)    {summary['first_delta_ms_p50']:8.1f} "
        f"{summary['first_delta_ms_p99']:8.1f}"
    )
    print(f"  server CPU          {summary['server_cpu_pct']:.0f} % of one core")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--rate", type=float, default=30.0, help="tokens per second")
    parser.add_argument("--tokens", type=int, default=150)
    parser.add_argument("--quick", action="store_true", help="50 streams x 60 tokens")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args()
    if args.quick:
        args.streams, args.tokens = 50, 60
    return args


async def measure(args: argparse.Namespace) -> dict:
    port = free_port()
    server = start_simulator(port, args.rate)
    try:
        await wait_ready(port)
        process = psutil.Process(server.pid)
        process.cpu_percent()  # starts the measurement window
        results = await run_load(port, args.streams, args.tokens)
        return summarize(results, args, process.cpu_percent())
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    args = parse_args()
    summary = asyncio.run(measure(args))
    print_table(summary)
    if args.json:
        print(json.dumps({"bench": "simulator_pacing", **summary}))


if __name__ == "__main__":
    main()
