"""The relay benchmark: the app against a minimal baseline relay, at the same load, in one run.

    python -m bench.relay [--streams 200] [--rate 20] [--tokens 200] [--runs 3] [--quick]
                          [--json] [--server daphne|uvicorn] [--layer memory|redis]
                          [--only load,ramp,idle,growth] [--profile FILE]

Starts the simulator, the app (one server process) and the baseline relay
(`bench.baseline_relay`) as processes on loopback. N WebSocket clients each watch their own
runs of T tokens at R tokens/s. The simulator stamps each delta with its emission time, so
added latency is the delta's arrival at the client minus its emission (one clock: one
machine). Every figure that matters is a ratio against the baseline measured in the same run:
this machine is noisy.

A load is a steady state, as a server meets it: each of the N clients starts a run as soon
as its previous one ended (`--runs` in a row), and the clients' first starts are spread over
one run's length, D = T/R, so that about N/D runs start every second and N stream at once
from D on. Latency percentiles are those of the deltas emitted while all N stream (from D to
the end of the first client's last run); CPU is the server process's own over the whole load,
per 1,000 deltas relayed, and for the app it includes starting every run through the API (the
POST): that is the product path. The baseline gets the same treatment: one connection per
client, open before the load, one text frame to start each run.

`python -m bench` runs this for every layer and adds the database writes per run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import harness
from bench.relay_load import Phase, pct, profiled
from bench.relay_load import in_batches as in_batches  # this and the next 3: for bench.topology
from bench.relay_load import message as message
from bench.relay_load import one_run as one_run
from bench.relay_load import settle as settle
from bench.relay_measures import GROWTH_RATE, growth, idle_memory, ramp
from bench.relay_targets import AppClients, app_phase, baseline, baseline_phase

PHASES = ("load", "ramp", "idle", "growth")

_T0 = time.monotonic()


def log(done: str) -> None:
    print(f"  [{time.monotonic() - _T0:6.1f} s] {done}", file=sys.stderr, flush=True)


@dataclass
class Ramp:
    suffix: str  # of its keys in the report: max_deltas_per_s{suffix}, ...
    tokens: int
    steps: list[int]


def sizes(args: argparse.Namespace) -> dict[str, Any]:
    if args.quick:
        return {"ramps": [Ramp("", int(args.rate * 1.5), [150, 300])], "idle": 200,
                "long": 10_000, "growth_runs": 20, "growth_rate": 2 * GROWTH_RATE}  # fmt: skip
    # The headline ramp's replies are the load's (T tokens), so that it measures how many
    # deltas a second one process relays. Short replies (4 s) make a second ramp, in which
    # the runs' starts cost as much as their deltas.
    return {"ramps": [Ramp("", args.tokens, [100, 150, 200, 250, 300, 350, 400, 500, 600, 800]),
                      Ramp("_short_replies", int(args.rate * 4),
                           [50, 75, 100, 125, 150, 175, 200, 250, 300, 400, 600, 800])],
            "idle": 1000, "long": 100_000, "growth_runs": 40,
            "growth_rate": GROWTH_RATE}  # fmt: skip


async def measure(args: argparse.Namespace, before_phases: Callable[[], None] | None = None
                  ) -> dict[str, Any]:  # fmt: skip
    size, only = sizes(args), set(args.only)
    extra = {"REDIS_URL": os.environ["REDIS_URL"]} if args.layer == "redis" else {}
    load = Phase(streams=args.streams, tokens=args.tokens, rate=args.rate, runs=args.runs)
    result: dict[str, Any] = {}
    with harness.simulator(rate=args.rate) as (sim_url, _), \
            harness.app(sim_url, server=args.server, extra_env=extra) as (base, app_proc), \
            baseline(sim_url) as (base_url, base_proc):  # fmt: skip
        app = AppClients(base)
        await app.grow(args.streams)  # the ramp grows it further when it gets there
        if before_phases is not None:
            before_phases()
        log("ready")
        if "load" in only:
            with profiled(app_proc, args.profile):
                ours = await app_phase(app, app_proc, load)
            theirs = await baseline_phase(
                base_url, base_proc, Phase(args.streams, args.tokens, args.rate, args.runs)
            )
            result.update(load_report(ours, theirs))
            log("load")
        if "ramp" in only:
            for r in size["ramps"]:
                result[f"max_deltas_per_s{r.suffix}"] = await ramp(
                    lambda p: app_phase(app, app_proc, p), r.steps, r.tokens, args.rate, "app"
                )
                result[f"baseline_max_deltas_per_s{r.suffix}"] = await ramp(
                    lambda p: baseline_phase(base_url, base_proc, p), r.steps, r.tokens,
                    args.rate, "baseline",
                )  # fmt: skip
                result[f"ramp_tokens{r.suffix}"] = r.tokens
                log(f"ramp of {r.tokens}-token replies")
        if "idle" in only:
            kb = await idle_memory(app, app_proc, size["idle"])
            result.update(kb_per_idle_connection=round(kb, 2), idle_connections=size["idle"])
            log("idle")
        if "growth" in only:
            g = await growth(app, app_proc, size["long"], size["growth_runs"], size["growth_rate"])
            result.update(
                growth_ratio=round(g.ratio, 2),
                growth_long_tokens=size["long"],
                growth_tokens_per_s=size["growth_rate"],
                run_fixed_cpu_ms=round(g.run_fixed_cpu_ms, 2),
                marginal_us_per_delta_short=round(g.short_us_per_delta, 1),
                marginal_us_per_delta_long=round(g.long_us_per_delta, 1),
            )
            log("growth")
        await app.close()
    head = {"layer": args.layer, "server": args.server, "streams": args.streams,
            "rate": args.rate, "tokens": args.tokens, "runs_per_stream": args.runs}  # fmt: skip
    return {**head, **result}


def load_report(ours: Phase, theirs: Phase) -> dict[str, Any]:
    r2 = lambda x: round(x, 2)  # noqa: E731
    return {
        "deltas": ours.deltas, "expected_deltas": ours.expected, "failed_runs": ours.failed_runs,
        "baseline_deltas": theirs.deltas,
        "p50_ms": r2(ours.pct(50)), "p99_ms": r2(ours.pct(99)), "max_ms": r2(max(ours.steady())),
        "baseline_p50_ms": r2(theirs.pct(50)), "baseline_p99_ms": r2(theirs.pct(99)),
        "baseline_max_ms": r2(max(theirs.steady())),
        "p99_ratio_vs_baseline": r2(ours.pct(99) / theirs.pct(99)),
        "cpu_ms_per_1k_deltas": r2(ours.cpu_ms_per_1k),
        "baseline_cpu_ms_per_1k_deltas": r2(theirs.cpu_ms_per_1k),
        "cpu_ratio_vs_baseline": r2(ours.cpu_ms_per_1k / theirs.cpu_ms_per_1k),
        "all_deltas_p99_ms": r2(pct(ours.latencies, 99)),
        "baseline_all_deltas_p99_ms": r2(pct(theirs.latencies, 99)),
        "first_delta_p50_ms": r2(statistics.median(ours.first_deltas)),
        "first_delta_p99_ms": r2(pct(ours.first_deltas, 99)),
        "start_reply_p50_ms": r2(statistics.median(ours.start_replies)),
        "start_reply_p99_ms": r2(pct(ours.start_replies, 99)),
        "baseline_first_delta_p50_ms": r2(statistics.median(theirs.first_deltas)),
        "baseline_first_delta_p99_ms": r2(pct(theirs.first_deltas, 99)),
        "load_seconds": r2(ours.seconds), "baseline_load_seconds": r2(theirs.seconds),
    }  # fmt: skip


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--streams", type=int, default=200)
    p.add_argument("--rate", type=float, default=20.0, help="tokens per second per stream")
    p.add_argument("--tokens", type=int, default=200)
    p.add_argument("--runs", type=int, default=3, help="runs in a row per client in the load")
    p.add_argument("--quick", action="store_true", help="100 streams x 40 tokens, short ramp")
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    p.add_argument("--server", choices=sorted(harness.SERVERS), default="daphne")
    p.add_argument("--layer", choices=["memory", "redis"], default="memory")
    p.add_argument("--only", type=lambda s: s.split(","), default=list(PHASES))
    p.add_argument("--profile", help="py-spy collapsed stacks of the app during the load")
    return p


def prepare(args: argparse.Namespace) -> argparse.Namespace:
    if args.quick:
        args.streams, args.tokens = min(args.streams, 100), min(args.tokens, 40)
        args.runs = min(args.runs, 2)
    if args.layer == "redis" and not os.environ.get("REDIS_URL"):
        raise SystemExit("--layer redis needs REDIS_URL")
    return args


def print_table(result: dict[str, Any]) -> None:
    for key, value in result.items():
        print(f"{key:32} {value}")


def main() -> None:
    args = prepare(parser().parse_args())
    result = asyncio.run(measure(args))
    print_table(result)
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
