"""The database down or locked, for real: the app under daphne in its own process
(`running_app`), with SQLite locked by another connection, or PostgreSQL behind a TCP proxy
that is cut. The API answers 503 in JSON with Retry-After, /readyz fails, and the process
serves again once the database is back."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.chat.test_resume_random import sign_up
from tests.deploy.test_topology import fresh_database
from tests.e2e.appserver import running_app
from tests.servers import TcpProxy


def required_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        reason = "DATABASE_URL does not name a PostgreSQL server"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
        pytest.skip(reason)
    return url


async def new_thread(http: httpx.AsyncClient) -> httpx.Response:
    headers = {"X-CSRFToken": http.cookies["csrftoken"]}
    return await http.post("/api/threads/", json={"content": "/sim tokens=3 Hi"}, headers=headers)


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "database_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert "no-store" in response.headers["Cache-Control"]


async def test_a_locked_sqlite_is_a_json_503_and_nothing_is_written(tmp_path: Path) -> None:
    with running_app(tmp_path, env={"SQLITE_TIMEOUT": "0.5"}) as app:
        async with httpx.AsyncClient(base_url=app.url, timeout=10) as http:
            await sign_up(http)
            with closing(sqlite3.connect(app.sqlite_path, isolation_level=None)) as other:
                other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
                assert_unavailable(await new_thread(http))
                listed = await http.get("/api/threads/")  # reads go on (WAL)
                other.execute("ROLLBACK")
            assert listed.status_code == 200
            assert listed.json() == {"threads": [], "next_cursor": None}
            assert (await new_thread(http)).status_code == 201
        assert "Traceback" not in app.log.read_text()


@pytest.fixture
def postgresql_behind_a_proxy() -> Iterator[tuple[str, TcpProxy]]:
    with fresh_database(required_database_url()) as url:
        parts = urlsplit(url)
        proxy = TcpProxy(parts.port or 5432)
        netloc = parts.netloc.rsplit("@", 1)[0] + f"@127.0.0.1:{proxy.port}"
        try:
            yield urlunsplit(parts._replace(netloc=netloc)), proxy
        finally:
            proxy.cut()


@pytest.mark.services
async def test_postgresql_down_is_a_json_503_and_readyz_fails(
    tmp_path: Path, postgresql_behind_a_proxy: tuple[str, TcpProxy]
) -> None:
    url, proxy = postgresql_behind_a_proxy
    env = {"DATABASE_URL": url, "DATABASE_POOL_TIMEOUT": "1", "DATABASE_POOL_MIN": "1"}
    with running_app(tmp_path, env=env) as app:
        async with httpx.AsyncClient(base_url=app.url, timeout=20) as http:
            await sign_up(http)
            assert (await http.get("/readyz")).status_code == 200
            proxy.cut()
            assert_unavailable(await new_thread(http))
            assert_unavailable(await http.get("/api/threads/"))
            ready = await http.get("/readyz")
            assert ready.status_code == 503, ready.text
            assert ready.json()["checks"]["database"].startswith("failed")
            assert (await http.get("/healthz")).status_code == 200  # alive, not ready
            proxy.restore()
            assert (await http.get("/readyz")).status_code == 200
            assert (await new_thread(http)).status_code == 201
        assert "Traceback" not in app.log.read_text()
