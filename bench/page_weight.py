"""The chat page's weight and its time to a usable composer, in Chromium.

    python -m bench.page_weight [--runs 5] [--cpu 4] [--json]

Two copies of the app side by side in one run, on loopback, each serving its own static files
(SERVE_STATIC=1, as `make run` does): "precompressed", whose STATIC_ROOT holds what
collectstatic writes (a .br and a .gz beside each file, config/static_storage.py), and
"plain", whose STATIC_ROOT is empty, so every file goes out uncompressed. Both send the same
minified vendor files and the same modulepreload list: the ratio is what compression buys.

For each, `--runs` times, interleaved: a cold load (a new browser context: empty cache) and a
warm one (the same context, loaded again), with the CPU slowed `--cpu` times by Chromium
(CDP Emulation.setCPUThrottlingRate). "Usable" is the moment the app focuses the composer,
which it does once every module is loaded and it has started (static/chat/app.js), measured
from the navigation's start. JavaScript bytes come from the Resource Timing entries of the
cold load: encoded (as sent) and decoded, summed over the .js files.
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

from playwright.sync_api import Browser, BrowserContext, sync_playwright

from bench import harness

# Recorded before any of the page's scripts run: the first focus of the composer.
MARK_USABLE = """
document.addEventListener("focusin", (event) => {
  if (event.target.id === "composer-input" && window.__usable === undefined) {
    window.__usable = performance.now();
  }
}, true);
"""
JS_BYTES = """() => performance.getEntriesByType("resource")
  .filter((e) => new URL(e.name).pathname.endsWith(".js"))
  .reduce((sum, e) => ({
    files: sum.files + 1,
    encoded: sum.encoded + e.encodedBodySize,
    decoded: sum.decoded + e.decodedBodySize,
  }), {files: 0, encoded: 0, decoded: 0})"""
MODES = ("precompressed", "plain")


@contextmanager
def served(mode: str, sim_url: str, tmp: Path) -> Iterator[str]:
    static_root = tmp / mode
    static_root.mkdir()
    extra = {"SERVE_STATIC": "1", "STATIC_ROOT": str(static_root)}
    if mode == "precompressed":
        env = harness.app_env(sim_url, None, extra)
        command = [harness.PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"]
        subprocess.run(command, cwd=harness.ROOT, env=env, check=True)
    with harness.app(sim_url, extra_env=extra) as (base, _):
        yield base


def logged_in(browser: Browser, base: str) -> dict[str, Any]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", harness.USERNAME)
    page.fill("#id_password", harness.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#composer-input")
    state: dict[str, Any] = context.storage_state()  # type: ignore[assignment]
    context.close()
    return state


def load(context: BrowserContext, base: str, cpu: float) -> tuple[float, dict[str, int]]:
    """One load of the chat page: ms to a usable composer, and the JavaScript it fetched."""
    page = context.new_page()
    context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": cpu})
    page.goto(f"{base}/", wait_until="commit")
    page.wait_for_function("() => window.__usable !== undefined", timeout=60_000)
    usable = float(page.evaluate("window.__usable"))
    page.wait_for_load_state("load")
    js: dict[str, int] = page.evaluate(JS_BYTES)
    page.close()
    return usable, js


def measure(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {m: {"cold_ms": [], "warm_ms": []} for m in MODES}
    with ExitStack() as stack, sync_playwright() as playwright:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        sim_url, _ = stack.enter_context(harness.simulator())
        bases = {m: stack.enter_context(served(m, sim_url, tmp)) for m in MODES}
        path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
        browser = playwright.chromium.launch(executable_path=path)
        states = {m: logged_in(browser, bases[m]) for m in MODES}
        for _ in range(args.runs):
            for mode in MODES:  # interleaved: the machine's load falls on both alike
                context = browser.new_context(storage_state=states[mode])  # type: ignore[arg-type]
                context.add_init_script(MARK_USABLE)
                cold, js = load(context, bases[mode], args.cpu)
                warm, _ = load(context, bases[mode], args.cpu)
                context.close()
                results[mode]["cold_ms"].append(cold)
                results[mode]["warm_ms"].append(warm)
                results[mode]["js"] = js
        browser.close()
    return summarize(results, args)


def summarize(results: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": args.runs, "cpu_slowdown": args.cpu}
    for mode, found in results.items():
        out[mode] = {
            "js_files": found["js"]["files"],
            "js_kb_sent": round(found["js"]["encoded"] / 1024, 1),
            "js_kb_decoded": round(found["js"]["decoded"] / 1024, 1),
            "cold_ms_median": round(statistics.median(found["cold_ms"])),
            "cold_ms_max": round(max(found["cold_ms"])),
            "warm_ms_median": round(statistics.median(found["warm_ms"])),
            "warm_ms_max": round(max(found["warm_ms"])),
        }
    pre, plain = out["precompressed"], out["plain"]
    out["ratio_js_sent"] = round(pre["js_kb_sent"] / plain["js_kb_sent"], 3)
    out["ratio_cold"] = round(pre["cold_ms_median"] / plain["cold_ms_median"], 3)
    out["ratio_warm"] = round(pre["warm_ms_median"] / plain["warm_ms_median"], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cpu", type=float, default=4.0, help="CPU slowdown factor")
    parser.add_argument("--json", action="store_true", help="one JSON line only")
    args = parser.parse_args()
    result = measure(args)
    if not args.json:
        for mode in MODES:
            print(mode, result[mode])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
