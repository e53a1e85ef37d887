"""One browser's side of bench/page_weight.py: the scripts it adds to the chat page, a logged-in
session, the probe that proves the composer takes a message when the page marks it usable, and
one timed load."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, BrowserContext, Response

from bench import harness

# Recorded before any of the page's scripts run: the first focus of an enabled composer. The
# app focuses it as the last step of its start, once the composer's handlers are attached.
MARK_USABLE = """
document.addEventListener("focusin", (event) => {
  const input = event.target;
  if (input.id !== "composer-input" || input.disabled || window.__usable !== undefined) return;
  window.__usable = performance.now();
  if (window.__probe) {  // type and send at that very moment (see probe())
    input.value = window.__probe;
    input.form.requestSubmit();
  }
}, true);
"""
# A thread's page is usable once its socket is open too: a reply then streams in at once.
MARK_SOCKET = """
window.WebSocket = class extends WebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("open", () => (window.__socket ??= performance.now()));
  }
};
"""
JS_BYTES = """() => performance.getEntriesByType("resource")
  .filter((e) => new URL(e.name).pathname.endsWith(".js"))
  .reduce((sum, e) => ({
    files: sum.files + 1,
    encoded: sum.encoded + e.encodedBodySize,
    decoded: sum.decoded + e.decodedBodySize,
  }), {files: 0, encoded: 0, decoded: 0})"""
# The simulator's reply to this: a paragraph, a list and a Python code block.
PROBE_MESSAGE = "/sim tokens=120 A list and some code, please"


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


def new_context(browser: Browser, state: dict[str, Any]) -> BrowserContext:
    """A fresh context (an empty cache) for the logged-in user, its loads timed."""
    context = browser.new_context(storage_state=state)  # type: ignore[arg-type]
    context.add_init_script(MARK_USABLE)
    context.add_init_script(MARK_SOCKET)
    return context


def creates_thread(response: Response) -> bool:
    return response.url.endswith("/api/threads/") and response.request.method == "POST"


def probe(browser: Browser, base: str, state: dict[str, Any]) -> str:
    """Type and send a message the moment the composer is marked usable: it must reach the
    server, or "usable" would be a lie. The path of the thread it makes (with a code block)."""
    context = new_context(browser, state)
    context.add_init_script(f"window.__probe = {PROBE_MESSAGE!r};")
    page = context.new_page()
    with page.expect_response(creates_thread, timeout=60_000) as response:
        page.goto(f"{base}/")
    if not response.value.ok:
        raise RuntimeError(f"the probe's message was not taken: {response.value.status}")
    page.wait_for_url("**/t/*/")
    page.wait_for_selector("[data-role=assistant][data-status=completed]", timeout=60_000)
    page.wait_for_selector("[data-role=assistant] .code-block")
    path = page.url.removeprefix(base)
    context.close()
    return path


def load(
    context: BrowserContext, url: str, cpu: float, *, socket: bool
) -> tuple[float, dict[str, Any]]:
    """One load of a chat page: ms to a usable composer (with `socket`, and the thread's socket
    open), and the JavaScript it had fetched by then ("start") and once the network was idle
    ("all")."""
    page = context.new_page()
    context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": cpu})
    page.goto(url, wait_until="commit")
    marks = ["window.__usable", "window.__socket"] if socket else ["window.__usable"]
    ready = " && ".join(f"{mark} !== undefined" for mark in marks)
    page.wait_for_function(f"() => {ready}", timeout=60_000)
    usable = float(page.evaluate(f"Math.max({', '.join(marks)})"))
    js = {"start": page.evaluate(JS_BYTES)}
    page.wait_for_load_state("load")
    page.wait_for_load_state("networkidle")  # the modules a page fetches after it has started
    js["all"] = page.evaluate(JS_BYTES)
    page.close()
    return usable, js
