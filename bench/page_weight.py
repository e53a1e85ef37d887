"""The chat page's weight and its time to a usable composer, in Chromium.

    python -m bench.page_weight [--runs 5] [--cpu 4] [--against DIR] [--json]

Copies of the app side by side in one run, on loopback, each serving its own static files
(SERVE_STATIC=1, as `make run` does): "precompressed", whose STATIC_ROOT holds what
collectstatic writes (a .br and a .gz beside each file, config/static_storage.py), and
"plain", whose STATIC_ROOT is empty, so every file goes out uncompressed: the ratio is what
compression buys. With `--against DIR`, a third: "against", another checkout of the project
(`git archive <commit> | tar -x -C DIR`) served precompressed, to compare commits.

Two pages each: "new" (/, a new chat) and "thread" (/t/<id>/, a thread whose reply holds a
list and a code block). For each, `--runs` times, interleaved: a cold load (a new browser
context: empty cache) and a warm one (the same context, loaded again), with the CPU slowed
`--cpu` times by Chromium (CDP Emulation.setCPUThrottlingRate).

"Usable" is the moment the app focuses the enabled composer, measured from the navigation's
start; the app does so once its composer's handlers are attached. A probe holds it to that:
before the timed loads, one load types a message and sends it at that very moment, and the
server must take it (it makes the "thread" page). On the thread page, the thread's WebSocket
must be open too (whichever comes later), so that a reply would stream in at once.

JavaScript bytes come from the Resource Timing entries of the cold load once the network is
idle (so modules imported after the start count too): encoded (as sent) and decoded, summed
over the .js files; and decoded, fetched by the time the composer was usable.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from bench import harness
from bench.page_weight_browser import load, logged_in, new_context, probe

PAGES = ("new", "thread")


@contextmanager
def served(mode: str, sim_url: str, tmp: Path, root: Path) -> Iterator[str]:
    static_root = tmp / mode
    static_root.mkdir()
    extra = {"SERVE_STATIC": "1", "STATIC_ROOT": str(static_root)}
    if mode != "plain":
        env = harness.app_env(sim_url, None, extra)
        command = [harness.PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"]
        subprocess.run(command, cwd=root, env=env, check=True)
    with harness.app(sim_url, extra_env=extra, root=root) as (base, _):
        yield base


def roots(args: argparse.Namespace) -> dict[str, Path]:
    found = {"precompressed": harness.ROOT, "plain": harness.ROOT}
    if args.against:
        found["against"] = Path(args.against).resolve()
    return found


def measure(args: argparse.Namespace) -> dict[str, Any]:
    modes = roots(args)
    results: dict[str, Any] = {m: {p: {"cold": [], "warm": []} for p in PAGES} for m in modes}
    with ExitStack() as stack, sync_playwright() as playwright:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        sim_url, _ = stack.enter_context(harness.simulator())
        bases = {m: stack.enter_context(served(m, sim_url, tmp, root)) for m, root in modes.items()}
        path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
        browser = playwright.chromium.launch(executable_path=path)
        states = {m: logged_in(browser, bases[m]) for m in modes}
        urls = {
            m: {"new": f"{bases[m]}/", "thread": bases[m] + probe(browser, bases[m], states[m])}
            for m in modes
        }
        for _ in range(args.runs):
            for mode in modes:  # interleaved: the machine's load falls on all alike
                for page in PAGES:
                    context = new_context(browser, states[mode])
                    url, socket = urls[mode][page], page == "thread"
                    cold, js = load(context, url, args.cpu, socket=socket)
                    warm, _ = load(context, url, args.cpu, socket=socket)
                    context.close()
                    found = results[mode][page]
                    found["cold"].append(cold)
                    found["warm"].append(warm)
                    found["js"] = js
        browser.close()
    return summarize(results, args)


def figures(found: dict[str, Any]) -> dict[str, Any]:
    start, everything = found["js"]["start"], found["js"]["all"]
    return {
        "js_files": everything["files"],
        "js_kb_sent": round(everything["encoded"] / 1024, 1),
        "js_kb_decoded": round(everything["decoded"] / 1024, 1),
        "js_kb_decoded_by_usable": round(start["decoded"] / 1024, 1),
        "cold_ms_median": round(statistics.median(found["cold"])),
        "cold_ms_max": round(max(found["cold"])),
        "warm_ms_median": round(statistics.median(found["warm"])),
        "warm_ms_max": round(max(found["warm"])),
    }


def ratios(mine: dict[str, Any], other: dict[str, Any]) -> dict[str, float]:
    keys = ("js_kb_sent", "cold_ms_median", "warm_ms_median")
    return {key: round(mine[key] / other[key], 3) for key in keys}


def summarize(results: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": args.runs, "cpu_slowdown": args.cpu}
    for mode, pages in results.items():
        out[mode] = {page: figures(found) for page, found in pages.items()}
    for other in ("plain", "against"):
        if other in out:
            pre = out["precompressed"]
            out[f"ratio_to_{other}"] = {page: ratios(pre[page], out[other][page]) for page in PAGES}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cpu", type=float, default=4.0, help="CPU slowdown factor")
    parser.add_argument("--against", help="another checkout of the project, served alongside")
    parser.add_argument("--json", action="store_true", help="one JSON line only")
    args = parser.parse_args()
    loads = [harness.load_average().split()[0]]
    result = measure(args)
    loads.append(harness.load_average().split()[0])
    result["load_average_1min"] = loads  # at the start and the end: others share the CPU
    if not args.json:
        for key, value in result.items():
            print(key, value)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
