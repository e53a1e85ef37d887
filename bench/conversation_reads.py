"""The reads timed, through the app's views as the browser calls them (Django's test client:
URL routing, middleware, session, view and JSON, no socket): the sidebar's first page, a
search as typed, and a thread opened."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.conversation_text import queries

WARM_UP = 3  # requests before timing: the first ones fill the page cache from disk


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1)}


def sample(get: Callable[[], Any], repeat: int) -> list[float]:
    for _ in range(WARM_UP):
        get()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        get()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def client() -> Any:
    from django.contrib.auth.models import User
    from django.test import Client

    from bench.conversation_store import USERNAME

    browser = Client(HTTP_HOST="localhost")
    browser.force_login(User.objects.get(username=USERNAME))
    return browser


def getter(browser: Any, path: str) -> Callable[[], Any]:
    def get() -> Any:
        response = browser.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.content[:200]!r}")
        return response.json()

    return get


def sidebar(browser: Any, repeat: int) -> dict[str, Any]:
    """The first page, and for comparison one 100 pages down (its cursor from the API)."""
    first = percentiles(sample(getter(browser, "/api/threads/"), repeat))
    cursor = None
    for _ in range(100):
        cursor = getter(browser, "/api/threads/" + (f"?cursor={cursor}" if cursor else ""))()[
            "next_cursor"
        ]
    deep = percentiles(sample(getter(browser, f"/api/threads/?cursor={cursor}"), repeat))
    return {"first_page": first, "page_101": deep}


def search(browser: Any, repeat: int) -> dict[str, Any]:
    """Each kind of search `repeat` times; "all" is every sample together."""
    from urllib.parse import quote

    found: dict[str, Any] = {}
    everything: list[float] = []
    for kind, query in queries().items():
        get = getter(browser, f"/api/search/?q={quote(query)}")
        samples = sample(get, repeat)
        everything += samples
        found[kind] = {"query": query, "results": len(get()["results"]), **percentiles(samples)}
    found["all"] = percentiles(everything)
    return found


def open_thread(browser: Any, thread_id: int, repeat: int) -> dict[str, Any]:
    get = getter(browser, f"/api/threads/{thread_id}/")
    body = get()
    shown = {"messages_shown": len(body["messages"]), "runs_shown": len(body["runs"])}
    return {**shown, **percentiles(sample(get, repeat))}
