"""What the server does around each HTTP request (`config.asgi_tuning.ASGIHandler`,
`config.daphne_nodelay`): no reference cycle made for every request, and a POST body judged
by the application alone, through a real daphne process."""

from __future__ import annotations

import asyncio
import gc
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler as DjangoASGIHandler

from config.asgi_tuning import ASGIHandler
from tests.deploy.topology import app_env, daphne_process, free_port


async def serve_once(handler: Any, path: str) -> list[dict[str, Any]]:
    """One GET through `handler` as daphne drives it: the request, then, once the response
    is sent, the disconnect daphne reports for every request."""
    incoming = [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[dict[str, Any]] = []
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            finished.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await handler(scope, receive, send)
    return sent


@pytest.fixture
def aborted_requests() -> Iterator[Callable[[], int]]:
    """With the collector paused: how many RequestAborted exceptions are still in memory.
    Without a collection, only a reference cycle keeps one alive once its request is done."""
    gc.collect()
    gc.disable()
    try:
        # type(), not isinstance(): isinstance asks an object its __class__, and a lazy object
        # (django-csp's `request.csp_nonce` once the response is out) raises when asked.
        yield lambda: sum(issubclass(type(o), RequestAborted) for o in gc.get_objects())
    finally:
        gc.enable()
        gc.collect()


@pytest.mark.django_db
async def test_a_request_leaves_no_exception_cycle_behind(
    aborted_requests: Callable[[], int],
) -> None:
    sent = await serve_once(ASGIHandler(), "/healthz")

    assert sent[0]["status"] == 200
    assert aborted_requests() == 0


@pytest.mark.django_db
async def test_djangos_own_handler_leaves_one_for_every_request(
    aborted_requests: Callable[[], int],
) -> None:
    # What the handler above is for: the stock one raises RequestAborted for the disconnect
    # daphne reports after each response, and its traceback holds the request in a cycle.
    for _ in range(3):
        sent = await serve_once(DjangoASGIHandler(), "/healthz")
        assert sent[0]["status"] == 200
    assert aborted_requests() == 3


async def test_a_disconnect_ends_the_listener_quietly() -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    assert await ASGIHandler().listen_for_disconnect(receive) is None


async def test_any_other_message_after_the_body_is_still_an_error() -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"more"}

    with pytest.raises(AssertionError, match="Invalid ASGI message"):
        await ASGIHandler().listen_for_disconnect(receive)


def test_daphne_leaves_a_post_body_to_the_application(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Twisted, under daphne, parsed form and multipart bodies itself (for nothing: daphne
    # never reads what it parsed) and answered a multipart body it could not parse with
    # its own bare 400, before the application saw the request. The application answers.
    tmp = tmp_path_factory.mktemp("post-body")
    env = app_env(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SIMULATOR_MOUNT="0",
        SQLITE_PATH=str(tmp / "db.sqlite3"),
    )
    port = free_port()
    with daphne_process(port, env, log_dir=tmp / "logs"), httpx.Client(timeout=30) as client:
        response = client.post(
            f"http://127.0.0.1:{port}/api/threads/",
            content=b"this is not multipart",
            headers={"Content-Type": "multipart/form-data; boundary=xyz"},
        )
    assert response.headers.get("content-type") == "application/json"
    assert response.status_code in (401, 403), response.text
