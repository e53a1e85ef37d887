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
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psutil
import websockets

from bench import harness

END_EVENTS = {"thread.run.completed", "thread.run.failed", "thread.run.cancelled",
              "thread.run.incomplete", "thread.run.expired"}  # fmt: skip
P99_LIMIT_MS = 50.0
PHASES = ("load", "ramp", "idle", "growth")
GROWTH_RATE = 2000.0  # tokens/s for both replies of the growth measurement (4000 in quick mode)

# The two relays frame a delta as `{"event":"thread.message.delta",...}`; the simulator puts
# its stamp last in the delta. Found by a string search, not a JSON parse of every frame:
# the client shares the machine's two cores with the servers it measures.
_DELTA_PREFIX = '{"event":"thread.message.delta"'
_STAMP = '"sim_emitted_at":'


_T0 = time.monotonic()


def log(done: str) -> None:
    print(f"  [{time.monotonic() - _T0:6.1f} s] {done}", file=sys.stderr, flush=True)


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


@dataclass
class Phase:
    streams: int
    tokens: int
    rate: float
    runs: int = 1
    latencies: list[float] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)  # emission time of each latency's delta
    first_deltas: list[float] = field(default_factory=list)  # ms from a start to its 1st delta
    start_replies: list[float] = field(default_factory=list)  # ms a start request took
    failed_runs: int = 0
    started_at: float = 0.0
    cpu_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def run_seconds(self) -> float:
        return self.tokens / self.rate

    @property
    def expected(self) -> int:
        return self.streams * self.tokens * self.runs

    @property
    def deltas(self) -> int:
        return len(self.latencies)

    def steady(self) -> list[float]:
        """Latencies of the deltas emitted while every client was streaming (all of them when
        each client makes one run)."""
        if self.runs < 2:
            return self.latencies
        start = self.started_at + self.run_seconds
        end = self.started_at + self.runs * self.run_seconds
        return [ms for ms, at in zip(self.latencies, self.stamps, strict=True) if start <= at < end]

    def pct(self, q: int) -> float:
        return pct(self.steady(), q)

    @property
    def cpu_ms_per_1k(self) -> float:
        return 1e6 * self.cpu_seconds / max(self.deltas, 1)

    @property
    def ok(self) -> bool:
        return self.deltas >= self.expected and self.pct(99) <= P99_LIMIT_MS

    def offset(self, client: int) -> float:
        return client * self.run_seconds / self.streams


def message(tokens: int, rate: float) -> str:
    return f"/sim stamp tokens={tokens} rate={rate:g} Tell me about rivers"


def emitted_at(raw: str) -> float | None:
    """The simulator's stamp in a delta frame, None for any other frame."""
    if not raw.startswith(_DELTA_PREFIX):
        return None
    at = raw.rindex(_STAMP) + len(_STAMP)
    end = at
    while raw[end] not in ",}":
        end += 1
    return float(raw[at:end])


async def read_run(socket: Any, phase: Phase, started: list[float]) -> None:
    """Record each delta's added latency until the run's last frame, and the time from the
    run's start request (`started[0]`, once sent) to its first delta."""
    latencies, stamps = phase.latencies, phase.stamps
    first = True
    while True:
        raw = await socket.recv()
        arrived = time.time()
        stamp = emitted_at(raw)
        if stamp is not None:
            latencies.append(1000 * (arrived - stamp))
            stamps.append(stamp)
            if first and started:
                phase.first_deltas.append(1000 * (arrived - started[0]))
                first = False
            continue
        event = json.loads(raw).get("event")
        if event in END_EVENTS:
            if event != "thread.run.completed":
                phase.failed_runs += 1
            return


async def one_run(socket: Any, phase: Phase, start: Callable[[], Awaitable[Any]]) -> None:
    started: list[float] = []

    async def send() -> None:
        started.append(time.time())
        await start()
        phase.start_replies.append(1000 * (time.time() - started[0]))

    # The reader waits before the start request goes: a frame's arrival is stamped on receipt.
    await asyncio.gather(read_run(socket, phase, started), send())


async def settle(proc: psutil.Process, within: float = 10.0) -> None:
    """Wait until the server is idle: work left over from the previous phase (sockets being
    closed, runs being written) must not be counted in the next one."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        before = proc.cpu_times()
        await asyncio.sleep(0.3)
        after = proc.cpu_times()
        if (after.user - before.user) + (after.system - before.system) <= 0.011:
            return


async def measured(proc: psutil.Process, phase: Phase, work: Callable[[], Awaitable[Any]]) -> Phase:
    """Run `work()` and count the server's CPU while it runs. A callable, not an awaitable:
    an awaitable such as gather's future would start before the count does."""
    await settle(proc)
    cpu, started = proc.cpu_times(), time.monotonic()
    phase.started_at = time.time()
    await work()
    after = proc.cpu_times()
    phase.cpu_seconds = (after.user - cpu.user) + (after.system - cpu.system)
    phase.seconds = time.monotonic() - started
    return phase


async def in_batches(coroutines: list[Awaitable[Any]], size: int = 50) -> list[Any]:
    results: list[Any] = []
    for i in range(0, len(coroutines), size):
        results += await asyncio.gather(*coroutines[i : i + size])
    return results


@contextmanager
def profiled(proc: psutil.Process, path: str | None) -> Iterator[None]:
    """py-spy (if installed) samples the server while the block runs: collapsed stacks of
    the thread holding the GIL."""
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not path or not os.path.exists(spy):
        if path:
            print("--profile: py-spy not found (pip install py-spy)", file=sys.stderr)
        yield
        return
    command = [spy, "record", "--pid", str(proc.pid), "--format", "raw", "--output", path,
               "--rate", "250", "--nonblocking", "--gil", "--threads"]  # fmt: skip
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # py-spy attaches
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=30)


# -- the app ------------------------------------------------------------------------------


class AppClients:
    """Logged-in clients, one thread and one open socket per stream."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http: Any = None
        self.threads: list[int] = []
        self.sockets: list[Any] = []

    async def grow(self, streams: int) -> None:
        self.http = self.http or await harness.login(self.base)
        count = streams - len(self.threads)
        if count <= 0:
            return
        new = await in_batches([self._thread() for _ in range(count)])
        # The socket opens once the thread's first run has ended, so that no frame of it is
        # waiting on the socket when a load starts.
        await in_batches([self._idle(thread_id) for thread_id in new])
        self.sockets += await in_batches([harness.open_socket(self.http, t) for t in new])
        self.threads += new

    async def _thread(self) -> int:
        body = await harness.post_json(self.http, "/api/threads/", {"content": message(1, 1000)})
        return int(body["thread"]["id"])  # type: ignore[index]

    async def _idle(self, thread_id: int) -> None:
        while True:
            runs = (await self.http.get(f"/api/threads/{thread_id}/")).json()["runs"]
            if runs[-1]["status"] in ("completed", "failed", "cancelled", "incomplete"):
                return
            await asyncio.sleep(0.1)

    async def load(self, phase: Phase) -> None:
        await self.grow(phase.streams)
        body: dict[str, object] = {"content": message(phase.tokens, phase.rate)}

        async def client(i: int) -> None:
            path = f"/api/threads/{self.threads[i]}/messages/"
            await asyncio.sleep(phase.offset(i))
            for _ in range(phase.runs):
                await one_run(
                    self.sockets[i], phase, lambda: harness.post_json(self.http, path, body)
                )

        await asyncio.gather(*(client(i) for i in range(phase.streams)))

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sockets))
        if self.http is not None:
            await self.http.aclose()


# -- the baseline -------------------------------------------------------------------------


@contextmanager
def baseline(sim_url: str) -> Iterator[tuple[str, psutil.Process]]:
    port = harness.free_port()
    command = [sys.executable, "-m", "bench.baseline_relay", "--port", str(port),
               "--upstream", sim_url]  # fmt: skip
    proc = subprocess.Popen(command, cwd=harness.ROOT, env=dict(os.environ))
    try:
        harness.wait_port(port)
        yield f"ws://127.0.0.1:{port}", psutil.Process(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- the measurements ---------------------------------------------------------------------


async def app_phase(app: AppClients, proc: psutil.Process, phase: Phase) -> Phase:
    await app.grow(phase.streams)
    return await measured(proc, phase, lambda: app.load(phase))


async def baseline_phase(url: str, proc: psutil.Process, phase: Phase) -> Phase:
    """One connection per client, opened before the measured part, as the app's sockets are."""
    connect = lambda: websockets.connect(url, max_size=None, compression=None)  # noqa: E731
    sockets = await in_batches([connect() for _ in range(phase.streams)])
    text = message(phase.tokens, phase.rate)

    async def client(socket: Any, offset: float) -> None:
        await asyncio.sleep(offset)
        for _ in range(phase.runs):
            await one_run(socket, phase, lambda: socket.send(text))

    async def clients() -> None:
        await asyncio.gather(*(client(s, phase.offset(i)) for i, s in enumerate(sockets)))

    await measured(proc, phase, clients)
    await asyncio.gather(*(s.close() for s in sockets))
    return phase


async def ramp(measure_one: Callable[[Phase], Awaitable[Phase]], steps: list[int],
               tokens: int, rate: float, label: str) -> float:  # fmt: skip
    """Highest sustained deltas/s before p99 passes the limit (or deltas go missing)."""
    best = 0.0
    for streams in steps:
        phase = await measure_one(Phase(streams=streams, tokens=tokens, rate=rate, runs=2))
        busy = 100 * phase.cpu_seconds / max(phase.seconds, 1e-9)  # of one core
        print(f"  ramp {label:8} {streams:4} streams: p99 {phase.pct(99):8.2f} ms, "
              f"{phase.deltas}/{phase.expected} deltas, server CPU {busy:3.0f} %",
              file=sys.stderr)  # fmt: skip
        if not phase.ok:
            break
        best = streams * rate
    return best


async def idle_memory(app: AppClients, proc: psutil.Process, connections: int) -> float:
    assert app.http is not None
    await settle(proc)
    before = proc.memory_info().rss
    sockets = await in_batches(
        [harness.open_socket(app.http, app.threads[0]) for _ in range(connections)]
    )
    await asyncio.sleep(1.0)
    after = proc.memory_info().rss
    await asyncio.gather(*(s.close() for s in sockets))
    return (after - before) / connections / 1024


@dataclass
class Growth:
    ratio: float
    run_fixed_cpu_ms: float
    short_us_per_delta: float
    long_us_per_delta: float


async def growth(app: AppClients, proc: psutil.Process, long_tokens: int, runs: int,
                 rate: float = GROWTH_RATE) -> Growth:  # fmt: skip
    """Server CPU per delta of a long reply over that of a 100-token reply.

    Per delta means the marginal cost: what a run costs whatever its length (the POST, the
    run's opening and closing events, its database writes), measured with 1-token runs, is
    taken off first. Without that, a 100-token reply carries a fixed cost the long reply
    spreads thin, and the ratio would hide an O(N^2) behind it. Many short runs are summed:
    the kernel counts a process's CPU time in 10 ms ticks."""

    async def cpu_per_run(tokens: int, count: int) -> float:
        phase = Phase(streams=1, tokens=tokens, rate=rate)

        async def work() -> None:
            path = f"/api/threads/{app.threads[0]}/messages/"
            body: dict[str, object] = {"content": message(tokens, rate)}
            for _ in range(count):
                await one_run(
                    app.sockets[0], phase, lambda: harness.post_json(app.http, path, body)
                )

        await measured(proc, phase, work)
        return phase.cpu_seconds / count

    fixed = await cpu_per_run(1, runs)  # 1 delta: the per-run cost, plus one delta's
    short = (await cpu_per_run(100, runs) - fixed) / 99
    long = (await cpu_per_run(long_tokens, 1) - fixed) / (long_tokens - 1)
    return Growth(long / short, 1000 * fixed, 1e6 * short, 1e6 * long)


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
