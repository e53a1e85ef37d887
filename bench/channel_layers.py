"""channels_redis' two layers against a real Redis: RedisChannelLayer (sorted sets, one
BZPOPMIN loop per process) and RedisPubSubChannelLayer (PUBLISH/SUBSCRIBE).

    python -m bench.channel_layers [--processes 2] [--groups 2] [--subscribers 50]
                                   [--messages 400] [--rate 20] [--reconnect-rate 200]
                                   [--burst 2000] [--concurrency 8] [--quick] [--json]

The shape of the app scaled out: `--processes` receiving processes (the daphne processes),
each holding `--subscribers` channels (one per open socket), spread over `--groups` groups (a
thread's group); one sending process (a run worker) calls `group_send`. So every group has
members in every process, and each message crosses processes.

Three phases per layer, each ended by a marker message per group:

- latency: `--messages` group_sends paced at `--rate` per second, below saturation, so the
  figure is the layer's own cost: send-to-receive time per delivery, p50 and p99.
- burst: `--burst` group_sends from `--concurrency` sending tasks as fast as they go; deliveries
  per second (first send to last delivery) and the latency under that load.
- reconnect: `--messages` group_sends paced at `--reconnect-rate`; half-way through, Redis
  closes every connection of the receiving processes (CLIENT KILL), as a network blip or a
  proxy's idle timeout would. Counts the deliveries lost and the receive() calls that raised
  (in a plain Channels consumer, that exception closes the socket).

Also reported: the most TCP connections to Redis each process held (sampled every 100 ms with
psutil), CPU seconds over the three phases of the sender (its event loop's thread), each
receiving process and redis-server, the load average (other work on the machine skews every
figure), and lost deliveries (a message dropped over capacity, or by pub/sub while a
subscriber was disconnected; a negative count is deliveries made twice).

The clock is time.monotonic(), which on Linux is system-wide, so it is comparable across the
processes of one machine. REDIS_URL picks the server (default redis://127.0.0.1:6379/0); each
run uses its own key prefix and deletes its keys at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import redis

from bench.channel_layers_backends import LAYERS, close, delete_keys, make_layer
from bench.channel_layers_receive import ReceiverSpec, receiver_main
from bench.channel_layers_redis import ConnectionSampler, kill_connections, redis_cpu
from bench.channel_layers_send import send_burst, send_paced, send_with_kill

# -- one layer, end to end -------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def measure(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    groups = [f"thread-{i}" for i in range(args.groups)]
    port = urlsplit(args.url).port or 6379
    context = mp.get_context("spawn")
    ready, results = context.Queue(), context.Queue()
    specs = [
        ReceiverSpec(backend, args.url, prefix, i, args.subscribers, groups)
        for i in range(args.processes)
    ]
    procs = [context.Process(target=receiver_main, args=(s, ready, results)) for s in specs]
    for proc in procs:
        proc.start()
    client = redis.Redis.from_url(args.url)
    try:
        for _ in procs:
            ready.get(timeout=60)
        pids = [proc.pid for proc in procs if proc.pid is not None]
        server_before = client.info("server")["run_id"]
        redis_before = redis_cpu(client)
        killed: list[int] = []
        with ConnectionSampler([*pids, os.getpid()], port) as sampler:
            kill = lambda: killed.append(kill_connections(client, pids, port))  # noqa: E731
            sent = asyncio.run(_send(backend, prefix, groups, args, kill))
            reports = [results.get(timeout=120) for _ in procs]
        # Another process restarting Redis mid-run would pass for the layer losing messages.
        if client.info("server")["run_id"] != server_before:
            raise RuntimeError("Redis restarted during the measurement: run it again")
        redis_used = redis_cpu(client) - redis_before
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
        asyncio.run(delete_keys(backend, args.url, prefix))
        client.close()
    sent.update(peaks=sampler.peak, killed=sum(killed))
    sent.update(load=os.getloadavg()[0])
    return summarise(backend, args, sent, reports, redis_used)


async def _send(
    backend: str, prefix: str, groups: list[str], args: argparse.Namespace, kill: Any
) -> dict[str, Any]:
    layer = make_layer(backend, args.url, prefix)
    pad = "x" * args.payload
    await asyncio.sleep(0.5)  # pub/sub: let every SUBSCRIBE reach Redis before the first send
    # The event loop's thread only: the connection sampler runs in this process too.
    cpu_before = time.thread_time()
    await send_paced(layer, groups, args.messages, args.rate, pad)
    burst_start, burst_sent = await send_burst(layer, groups, args.burst, args.concurrency, pad)
    await send_with_kill(layer, groups, args.messages, args.reconnect_rate, pad, kill)
    cpu_used = time.thread_time() - cpu_before
    await close(layer)
    return {
        "burst_start": burst_start,
        "burst_sent": burst_sent,
        "cpu_s": cpu_used,
    }


def summarise(
    backend: str,
    args: argparse.Namespace,
    sent: dict[str, Any],
    reports: list[dict[str, Any]],
    redis_used: float,
) -> dict[str, Any]:
    per_message = args.processes * args.subscribers // args.groups

    def phase(name: str, key: str = "latencies") -> list[Any]:
        return [x for r in reports for x in r["phases"][name][key]]

    def errors(name: str) -> int:
        return sum(r["phases"][name]["errors"] for r in reports)

    latency, burst, reconnect = phase("latency"), phase("burst"), phase("reconnect")
    last = max(r["phases"]["burst"]["last"] for r in reports)
    elapsed = last - sent["burst_start"]
    ms = lambda seconds: round(seconds * 1000, 2)  # noqa: E731
    return {
        "layer": backend,
        "processes": args.processes, "groups": args.groups,
        "subscribers_per_process": args.subscribers, "payload_bytes": args.payload,
        "paced_messages": args.messages, "paced_rate": args.rate,
        "reconnect_rate": args.reconnect_rate,
        "latency_p50_ms": ms(percentile(latency, 50)),
        "latency_p99_ms": ms(percentile(latency, 99)),
        "latency_lost": args.messages * per_message - len(latency),
        "burst_messages": args.burst, "burst_concurrency": args.concurrency,
        "burst_group_sends_per_s": round(args.burst / (sent["burst_sent"] - sent["burst_start"])),
        "burst_deliveries_per_s": round(len(burst) / elapsed) if elapsed > 0 else 0,
        "burst_latency_p50_ms": ms(percentile(burst, 50)),
        "burst_latency_p99_ms": ms(percentile(burst, 99)),
        "burst_lost": args.burst * per_message - len(burst),
        "reconnect_connections_killed": sent["killed"],
        "reconnect_lost": args.messages * per_message - len(reconnect),
        "reconnect_receive_errors": errors("reconnect"),
        "reconnect_error_types": sorted({t for r in reports
                                         for t in r["phases"]["reconnect"]["error_types"]}),
        "peak_redis_connections_per_receiver": sent["peaks"][:-1],
        "peak_redis_connections_sender": sent["peaks"][-1],
        "cpu_s_sender": round(sent["cpu_s"], 2),
        "cpu_s_receivers": [round(r["cpu_s"], 2) for r in reports],
        "cpu_s_redis": round(redis_used, 2),
        "load_average_1m": round(sent["load"], 2),  # other work on the machine skews all of it
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.channel_layers", description=__doc__)
    parser.add_argument("--processes", type=int, default=2, help="receiving processes")
    parser.add_argument("--groups", type=int, default=2)
    parser.add_argument("--subscribers", type=int, default=50, help="channels per process")
    parser.add_argument("--messages", type=int, default=400, help="paced group_sends")
    parser.add_argument("--rate", type=float, default=20.0, help="paced group_sends per s")
    parser.add_argument(
        "--reconnect-rate", type=float, default=200.0, help="group_sends per s around the kill"
    )
    parser.add_argument("--burst", type=int, default=2000, help="group_sends in the burst")
    parser.add_argument("--concurrency", type=int, default=8, help="sending tasks in the burst")
    parser.add_argument("--payload", type=int, default=200, help="bytes of padding per message")
    parser.add_argument("--layer", choices=sorted(LAYERS), action="append")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON")
    args = parser.parse_args()
    args.url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    if args.quick:
        args.subscribers, args.messages, args.burst = 10, 100, 300
    results = [measure(backend, args) for backend in args.layer or sorted(LAYERS)]
    for result in results:
        print()
        for key, value in result.items():
            print(f"{key:32} {value}")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
