"""`make bench`: the relay benchmark for each layer, with the database writes per run.

    python -m bench [--quick] [--server daphne|uvicorn] [--streams N] [--tokens T] [--rate R]

Runs `bench.relay` with the in-memory default, then, when REDIS_URL is set, with the Redis
layer (the app gets REDIS_URL: run logs in Redis streams). For each it adds
`db_writes_per_run` from `bench.db_writes` (a 2,000-token reply, in the same layer) and
prints the table, then one JSON line per layer, the last line(s) of the output.

`--quick` (make bench-quick) is the small size: under a minute for the in-memory layer.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

from bench import harness, relay

DB_WRITES_TOKENS = 2000


def start_db_writes(layer: str) -> subprocess.Popen[str]:
    """`bench.db_writes` in its own process (it sets Django up in-process), started while the
    relay benchmark sets up: it only counts statements, so the overlap costs no accuracy."""
    command = [sys.executable, "-m", "bench.db_writes", "--json", "--layer", layer,
               "--tokens", str(DB_WRITES_TOKENS)]  # fmt: skip
    return subprocess.Popen(command, cwd=harness.ROOT, stdout=subprocess.PIPE, text=True)


def db_writes_result(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.db_writes failed ({proc.returncode})")
    found: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return {
        "db_writes_per_run": found["db_writes_per_run"],
        "db_writes_tokens": found["tokens"],
        "db_writes_rate": found["rate"],
        "db_checkpoints_per_run": found["checkpoints"],
    }


def run_layer(args: Any, layer: str) -> dict[str, Any]:
    args.layer = layer
    writes = start_db_writes(layer)
    counted: dict[str, Any] = {}

    def collect() -> None:
        if not counted:
            counted.update(db_writes_result(writes))

    try:
        # The measured phases wait for the count to finish: it must not share their CPU.
        result = asyncio.run(relay.measure(args, before_phases=collect))
        collect()
    finally:
        if writes.poll() is None:
            writes.kill()
    return {**result, **counted}


def main() -> None:
    parser = relay.parser()
    parser.description = __doc__.split("\n\n")[0]
    args = relay.prepare(parser.parse_args())
    layers = ["memory", "redis"] if os.environ.get("REDIS_URL") else ["memory"]
    results = []
    for layer in layers:
        print(f"== layer: {layer}", flush=True)
        results.append(run_layer(args, layer))
        relay.print_table(results[-1])
    for result in results:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
