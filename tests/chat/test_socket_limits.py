"""A cap on each user's open sockets, and log-outs that close their session's sockets: in one
process (in-memory channel layer) and across two processes sharing Redis, with the app served
by daphne and real WebSocket clients."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from tests.deploy.topology import app_env, daphne_process, free_port, migrate
from tests.e2e.appserver import running_app

PASSWORD = "correct-horse-battery-9"
CAP = 3


@dataclass
class Session:
    """A logged-in browser: its cookies, against one server process (`url`)."""

    url: str
    cookies: httpx.Cookies

    async def socket(self, thread_id: int, url: str | None = None) -> ClientConnection:
        base = url or self.url
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return await connect(
            base.replace("http://", "ws://") + f"/ws/threads/{thread_id}/",
            origin=Origin(base),
            additional_headers={"Cookie": cookie},
        )


async def form_post(url: str, path: str, fields: dict[str, str], **cookies: str) -> httpx.Cookies:
    async with httpx.AsyncClient(base_url=url, timeout=10, cookies=cookies) as http:
        page = await http.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, page.text
        done = await http.post(path, data={"csrfmiddlewaretoken": token.group(1), **fields})
        assert done.status_code == 302, done.text
        return http.cookies


async def sign_up(url: str, username: str) -> Session:
    fields = {"username": username, "password1": PASSWORD, "password2": PASSWORD}
    return Session(url, await form_post(url, "/accounts/signup/", fields))


async def log_in(url: str, username: str) -> Session:
    fields = {"username": username, "password": PASSWORD}
    return Session(url, await form_post(url, "/accounts/login/", fields))


async def log_out(session: Session, url: str | None = None) -> None:
    cookies = dict(session.cookies.items())
    async with httpx.AsyncClient(base_url=url or session.url, cookies=cookies) as http:
        headers = {"X-CSRFToken": cookies["csrftoken"]}
        assert (await http.post("/accounts/logout/", headers=headers)).status_code == 302


async def new_thread(session: Session) -> int:
    cookies = dict(session.cookies.items())
    async with httpx.AsyncClient(base_url=session.url, cookies=cookies) as http:
        headers = {"X-CSRFToken": cookies["csrftoken"]}
        created = await http.post("/api/threads/", json={"content": "Hi"}, headers=headers)
        assert created.status_code == 201, created.text
        return int(created.json()["thread"]["id"])


async def answers_ping(socket: ClientConnection) -> bool:
    await socket.send(json.dumps({"type": "ping"}))
    async with asyncio.timeout(10):
        while json.loads(await socket.recv())["event"] != "pong":
            pass
    return True


async def close_code(socket: ClientConnection) -> int | None:
    """The code the server closed the socket with (frames before it are read and dropped)."""
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(10):
            while True:
                await socket.recv()
    return closed.value.rcvd.code if closed.value.rcvd else None


@pytest.fixture(scope="module")
def one_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {"WS_MAX_SOCKETS_PER_USER": str(CAP)}
    with running_app(tmp_path_factory.mktemp("limits"), env=env) as app:
        yield app.url


@pytest.fixture
async def sockets() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as stack:
        yield stack


async def open_socket(stack: AsyncExitStack, session: Session, thread_id: int, **kw: Any) -> Any:
    return await stack.enter_async_context(await session.socket(thread_id, **kw))


async def test_a_user_holds_at_most_the_cap_of_open_sockets(
    one_process: str, sockets: AsyncExitStack
) -> None:
    alice = await sign_up(one_process, "alice")
    thread_id = await new_thread(alice)
    held = [await open_socket(sockets, alice, thread_id) for _ in range(CAP)]
    for socket in held:
        assert await answers_ping(socket)

    assert await close_code(await alice.socket(thread_id)) == 4429

    await held.pop().close()  # a tab closed: its place is free again
    assert await answers_ping(await open_socket(sockets, alice, thread_id))
    bob = await sign_up(one_process, "bob")  # the cap is per user
    assert await answers_ping(await open_socket(sockets, bob, await new_thread(bob)))


async def test_logging_out_closes_that_sessions_sockets(
    one_process: str, sockets: AsyncExitStack
) -> None:
    carol = await sign_up(one_process, "carol")
    thread_id = await new_thread(carol)
    laptop = [await open_socket(sockets, carol, thread_id) for _ in range(2)]
    phone = await log_in(one_process, "carol")  # another session of the same user
    on_phone = await open_socket(sockets, phone, thread_id)

    await log_out(carol)

    assert [await close_code(socket) for socket in laptop] == [4401, 4401]
    assert await answers_ping(on_phone)  # that session did not log out
    assert await close_code(await carol.socket(thread_id)) == 4401  # nor can it reconnect


# -- across processes: Redis holds the count and carries the log-out -----------------------


def required_redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("REDIS_URL is not set (REQUIRE_SERVICES=1)")
        pytest.skip("REDIS_URL is not set: this test needs the real Redis")
    return url


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    redis_url = required_redis_url()
    tmp = tmp_path_factory.mktemp("limits-redis")
    env = app_env(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SQLITE_PATH=str(tmp / "db.sqlite3"),
        REDIS_URL=redis_url,
        REDIS_KEY_PREFIX=f"limits-{secrets.token_hex(4)}",
        WS_MAX_SOCKETS_PER_USER=str(CAP),
        SIMULATOR_MOUNT="1",
    )
    migrate(env)
    with ExitStack() as stack:
        ports = [free_port(), free_port()]
        for port in ports:
            stack.enter_context(daphne_process(port, env, log_dir=tmp / "logs"))
        yield [f"http://127.0.0.1:{port}" for port in ports]


@pytest.mark.services
async def test_the_cap_holds_across_processes(
    two_processes: list[str], sockets: AsyncExitStack
) -> None:
    first, second = two_processes
    dave = await sign_up(first, "dave")
    thread_id = await new_thread(dave)
    for url in (first, second, first):
        assert await answers_ping(await open_socket(sockets, dave, thread_id, url=url))
    assert await close_code(await dave.socket(thread_id, url=second)) == 4429


@pytest.mark.services
async def test_a_log_out_served_by_one_process_closes_sockets_held_by_another(
    two_processes: list[str], sockets: AsyncExitStack
) -> None:
    first, second = two_processes
    erin = await sign_up(first, "erin")
    thread_id = await new_thread(erin)
    held = [await open_socket(sockets, erin, thread_id, url=first) for _ in range(2)]
    await log_out(erin, url=second)
    assert [await close_code(socket) for socket in held] == [4401, 4401]
