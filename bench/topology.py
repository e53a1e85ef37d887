"""The relay benchmark through Redis, across processes: two daphne processes and a run worker.

    python -m bench.topology [--streams 200] [--rate 20] [--tokens 200] [--runs 3] [--json]
                             [--workers 1] [--repeat 5] [--profile DIR]

Needs REDIS_URL and DATABASE_URL (PostgreSQL: three processes write to it); makes its own
database and Redis key prefix. The app runs as it is deployed (docs/deploy.md):
RUN_EXECUTION=worker, so web processes only queue runs and relay frames, and one worker
executes every run. Each client's socket is on one daphne process and its runs are started
through the other, so every frame crosses processes: worker -> Redis stream -> the other
daphne's mirror -> the socket. The baseline relay (bench.baseline_relay) runs at the same load
in the same run, and every figure that matters is a ratio against it. CPU is the sum over the
app's processes (both daphnes and the worker); Redis's own CPU is reported beside it.

The whole measurement is made `--repeat` times (new processes and database each time): the
report gives each run's figures and, for the ones that matter, the median and the spread, as
one run on a shared machine says little.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil

from bench import harness, relay
from bench.relay import Phase, in_batches, load_report, message, one_run

TERMINAL = ("completed", "failed", "cancelled", "incomplete", "expired")


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    import psycopg

    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_server() -> psutil.Process | None:
    """The local Redis server, whose CPU is reported beside the app's."""
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] == "redis-server":
            return proc
    return None


def prepare_database(env: dict[str, str]) -> None:
    """The app's tables and the benchmark's user, in the database `env` names."""
    manage = [harness.PYTHON, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=harness.ROOT, env=env,
                   check=True)  # fmt: skip
    create = (
        "from django.contrib.auth.models import User; "
        f"User.objects.create_user({harness.USERNAME!r}, '', {harness.PASSWORD!r})"
    )
    # Its banner on stdout would spoil the report's JSON line there.
    subprocess.run([*manage, "shell", "-c", create], cwd=harness.ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


@contextmanager
def topology(
    sim_url: str, database_url: str, workers: int = 1
) -> Iterator[tuple[list[str], list[psutil.Process]]]:
    env = harness.app_env(
        sim_url,
        None,
        {
            "DATABASE_URL": database_url,
            "DATABASE_POOL_MAX": "20",
            "REDIS_URL": os.environ["REDIS_URL"],
            "REDIS_KEY_PREFIX": f"bench-{secrets.token_hex(4)}",
            "RUN_EXECUTION": "worker",
        },
    )
    prepare_database(env)
    manage = [harness.PYTHON, "manage.py"]
    with ExitStack() as stack:
        bases, procs = [], []
        for _ in range(2):
            port = harness.free_port()
            command = [harness.PYTHON, *(a.format(port=port) for a in harness.SERVERS["daphne"])]
            base = f"http://127.0.0.1:{port}"
            procs.append(stack.enter_context(
                harness.process(command, env=env, ready_url=base + "/healthz")
            ))  # fmt: skip
            bases.append(base)
        for _ in range(workers):
            # BENCH_LOG=path keeps the workers' output too, as the daphnes' (`harness.process`).
            log = stack.enter_context(harness.bench_log())
            worker = subprocess.Popen(
                [*manage, "run_worker"], cwd=harness.ROOT, env=env, stdout=log, stderr=log
            )
            stack.callback(lambda w=worker: (w.terminate(), w.wait(timeout=30)))
            procs.append(psutil.Process(worker.pid))
        yield bases, procs


class CrossClients:
    """Each stream: a socket on one daphne process, its runs started through the other."""

    def __init__(self, bases: list[str]) -> None:
        self.bases = bases
        self.http: list[httpx.AsyncClient] = []
        self.threads: list[int] = []
        self.sockets: list[Any] = []

    async def connect(self, streams: int) -> None:
        first = await harness.login(self.bases[0])
        second = httpx.AsyncClient(
            base_url=self.bases[1], timeout=30.0, cookies=first.cookies,
            headers={"X-CSRFToken": first.headers["X-CSRFToken"]},
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=1000),
        )  # fmt: skip
        self.http = [first, second]
        self.threads = await in_batches([self._thread(i) for i in range(streams)])
        await in_batches([self._idle(i) for i in range(streams)])
        self.sockets = await in_batches(
            [harness.open_socket(self.http[1 - i % 2], t) for i, t in enumerate(self.threads)]
        )

    async def _thread(self, i: int) -> int:
        body = await harness.post_json(self.http[i % 2], "/api/threads/",
                                       {"content": message(1, 1000)})  # fmt: skip
        return int(body["thread"]["id"])  # type: ignore[index]

    async def _idle(self, i: int) -> None:
        while True:
            response = await self.http[i % 2].get(f"/api/threads/{self.threads[i]}/")
            if response.json()["runs"][-1]["status"] in TERMINAL:
                return
            await asyncio.sleep(0.1)

    async def load(self, phase: Phase) -> None:
        body: dict[str, object] = {"content": message(phase.tokens, phase.rate)}

        async def client(i: int) -> None:
            http, path = self.http[i % 2], f"/api/threads/{self.threads[i]}/messages/"
            await asyncio.sleep(phase.offset(i))
            for _ in range(phase.runs):
                await one_run(self.sockets[i], phase, lambda: harness.post_json(http, path, body))

        await asyncio.gather(*(client(i) for i in range(phase.streams)))

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sockets))
        for client in self.http:
            await client.aclose()


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        times = proc.cpu_times()
        total += times.user + times.system
    return total


async def measured(procs: list[psutil.Process], phase: Phase, work: Any) -> Phase:
    for proc in procs:
        await relay.settle(proc)
    before = cpu_seconds(procs)
    started = asyncio.get_running_loop().time()
    phase.started_at = __import__("time").time()
    await work
    phase.cpu_seconds = cpu_seconds(procs) - before
    phase.seconds = asyncio.get_running_loop().time() - started
    return phase


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    redis = redis_server()
    with harness.simulator(rate=args.rate) as (sim_url, _), \
            fresh_database(os.environ["DATABASE_URL"]) as db_url, \
            topology(sim_url, db_url, args.workers) as (bases, procs), \
            relay.baseline(sim_url) as (base_url, base_proc):  # fmt: skip
        clients = CrossClients(bases)
        await clients.connect(args.streams)
        ours = Phase(streams=args.streams, tokens=args.tokens, rate=args.rate, runs=args.runs)
        redis_before = cpu_seconds([redis]) if redis else 0.0
        each_before = [cpu_seconds([p]) for p in procs]
        names = ["daphne-1", "daphne-2"] + [f"worker-{i + 1}" for i in range(args.workers)]
        with ExitStack() as profiling:
            for name, proc in zip(names, procs, strict=True):
                path = os.path.join(args.profile, f"{name}.txt") if args.profile else None
                profiling.enter_context(relay.profiled(proc, path))
            await measured(procs, ours, clients.load(ours))
        each = [cpu_seconds([p]) - b for p, b in zip(procs, each_before, strict=True)]
        redis_cpu = cpu_seconds([redis]) - redis_before if redis else float("nan")
        await clients.close()
        theirs = await relay.baseline_phase(
            base_url, base_proc, Phase(args.streams, args.tokens, args.rate, args.runs)
        )
    print(f"app: {ours.deltas}/{ours.expected} deltas; baseline: {theirs.deltas}/"
          f"{theirs.expected}", file=sys.stderr)  # fmt: skip
    report = {
        "layer": "redis", "topology": f"2 daphne + {args.workers} run worker(s)",
        "server": "daphne",
        "streams": args.streams, "rate": args.rate, "tokens": args.tokens,
        "runs_per_stream": args.runs, **load_report(ours, theirs),
        "lost_deltas": ours.expected - ours.deltas,
        "redis_cpu_ms_per_1k_deltas": round(1e6 * redis_cpu / max(ours.deltas, 1), 2),
        "cpu_ms_per_1k_deltas_by_process": {
            name: round(1e6 * cpu / max(ours.deltas, 1), 2)
            for name, cpu in zip(names, each, strict=True)
        },
    }  # fmt: skip
    # The workers' CPU per delta (all of them: each delta is relayed by one) against the whole
    # baseline relay's (reading upstream, writing sockets).
    workers = sum(each[2:])
    report["worker_cpu_ratio_vs_baseline"] = round(
        1e6 * workers / max(ours.deltas, 1) / report["baseline_cpu_ms_per_1k_deltas"], 2
    )
    return report


# The figures the targets are about, summarised over the repeats.
SUMMARISED = ("cpu_ratio_vs_baseline", "worker_cpu_ratio_vs_baseline", "p99_ratio_vs_baseline",
              "first_delta_p50_ms", "baseline_cpu_ms_per_1k_deltas", "cpu_ms_per_1k_deltas",
              "lost_deltas")  # fmt: skip


def summary(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Median, lowest and highest of each figure that matters, over the repeats."""
    return {
        key: {"median": statistics.median(values), "min": min(values), "max": max(values)}
        for key in SUMMARISED
        if (values := [report[key] for report in reports])
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--streams", type=int, default=200)
    p.add_argument("--rate", type=float, default=20.0)
    p.add_argument("--tokens", type=int, default=200)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="100 streams x 40 tokens, 2 runs")
    p.add_argument("--json", action="store_true")
    p.add_argument("--workers", type=int, default=1, help="run worker processes")
    p.add_argument("--profile", help="a directory for py-spy stacks of each process (load phase)")
    p.add_argument("--repeat", type=int, default=5, help="whole measurements, for a median")
    args = p.parse_args()
    if args.quick:
        args.streams, args.tokens, args.runs = 100, 40, 2
    for name in ("REDIS_URL", "DATABASE_URL"):
        if not os.environ.get(name):
            sys.exit(f"bench.topology needs {name} (Redis, and PostgreSQL for three processes)")
    reports = []
    for number in range(args.repeat):
        reports.append(asyncio.run(measure(args)))
        show(reports[-1], f"run {number + 1} of {args.repeat}", args.json)
    report = {"runs": reports, "summary": summary(reports)}
    show(report["summary"], f"over {args.repeat} run(s): median [min, max]", args.json)
    if args.json:
        print(json.dumps(report))


def show(figures: dict[str, Any], title: str, quiet: bool) -> None:
    out = sys.stderr if quiet else sys.stdout
    print(f"-- {title}", file=out)
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        if isinstance(value, dict) and "median" in value:
            value = f"{value['median']} [{value['min']}, {value['max']}]"
        print(f"{key:<{width}}  {value}", file=out)


if __name__ == "__main__":
    main()
