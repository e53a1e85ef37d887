"""/healthz and /readyz: answered without a login, against the real database and Redis.

The checks against real services run when the CI's variables point at them (DATABASE_URL,
REDIS_URL); without them they skip, unless REQUIRE_SERVICES=1 says a skip would hide a
missing service. Outages are real too: a port where nothing listens, a server that accepts
connections but never answers, a daphne process whose database is unreachable.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from django.db import connection
from django.test import Client
from pytest_django import Settings

from chat.views.health import DATABASE_TIMEOUT_SECONDS, REDIS_TIMEOUT_SECONDS
from tests.deploy.topology import app_env, daphne_process, free_port

# A probe must answer within its own timeouts plus this, never the clients' defaults.
SLACK_SECONDS = 1.0


def closed_port() -> int:
    """A loopback port where nothing listens: a connect is refused at once."""
    return free_port()


def required_url(name: str) -> str:
    """The service URL in `name`; skips without it (fails with REQUIRE_SERVICES=1)."""
    url = os.environ.get(name, "")
    if not url:
        reason = f"{name} is not set: this test needs the real service"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
        pytest.skip(reason)
    return url


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) but never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_healthz_answers_without_login_or_database() -> None:
    # No `db` fixture: pytest-django fails the test if the view touches the database.
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "pid": os.getpid()}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_head_and_refuses_post() -> None:
    assert Client().head("/healthz").status_code == 200
    assert Client().post("/healthz").status_code == 405


def test_readyz_is_ready_with_the_database(db: None, settings: Settings) -> None:
    settings.REDIS_URL = ""
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


@pytest.mark.services
def test_readyz_is_ready_with_a_real_postgresql(db: None, settings: Settings) -> None:
    required_url("DATABASE_URL")
    assert connection.vendor == "postgresql"
    settings.REDIS_URL = ""
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


@pytest.mark.services
def test_readyz_is_ready_with_a_real_redis(db: None, settings: Settings) -> None:
    settings.REDIS_URL = required_url("REDIS_URL")
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_is_unavailable_at_once_when_redis_refuses(db: None, settings: Settings) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    started = time.monotonic()
    response = Client().get("/readyz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "failed: ConnectionError"},
    }
    # One attempt, no retries with backoff: redis-py's default would take seconds.
    assert elapsed < REDIS_TIMEOUT_SECONDS, elapsed


def test_readyz_gives_up_on_a_redis_that_never_answers(
    db: None, settings: Settings, silent_server: int
) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{silent_server}/0"
    started = time.monotonic()
    response = Client().get("/readyz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "failed: TimeoutError"
    assert elapsed < REDIS_TIMEOUT_SECONDS + SLACK_SECONDS, elapsed


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_a_process_whose_database_is_down_is_live_but_not_ready(
    database: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A real daphne process, so that the database really is unreachable (and, for
    # PostgreSQL, so that the pool's 30 s wait for a connection is really bypassed).
    tmp = tmp_path_factory.mktemp("db-down")
    if database == "postgresql":
        storage = {"DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/chat"}
        failure = "failed: PoolTimeout"
    else:
        storage = {"SQLITE_PATH": str(tmp / "no-such-directory" / "db.sqlite3")}
        failure = "failed: OperationalError"
    env = app_env(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SIMULATOR_MOUNT="0",
        REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0",
        **storage,
    )
    port = free_port()
    with daphne_process(port, env, log_dir=tmp / "logs"), httpx.Client(timeout=30) as client:
        live = client.get(f"http://127.0.0.1:{port}/healthz")
        started = time.monotonic()
        ready = client.get(f"http://127.0.0.1:{port}/readyz")
        elapsed = time.monotonic() - started
    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "unavailable",
        "checks": {"database": failure, "redis": "failed: ConnectionError"},
    }
    assert elapsed < DATABASE_TIMEOUT_SECONDS + REDIS_TIMEOUT_SECONDS + SLACK_SECONDS, elapsed
