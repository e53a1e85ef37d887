"""/healthz and /readyz: answered without a login, against the real database and Redis."""

from __future__ import annotations

import os

import pytest
import redis
from django.db import OperationalError, connection
from django.test import Client
from pytest_django import Settings

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # port 1: nothing listens, the connect is refused


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


def test_readyz_is_unavailable_when_redis_is_unreachable(db: None, settings: Settings) -> None:
    settings.REDIS_URL = UNREACHABLE_REDIS
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == "failed: ConnectionError"


def test_readyz_is_unavailable_when_the_database_fails(
    db: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.REDIS_URL = ""

    def refuse() -> None:
        raise OperationalError("connection refused")

    # The only failure that can be staged against a test database that must stay up.
    monkeypatch.setattr(connection, "cursor", refuse)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "failed: OperationalError"}


@pytest.mark.services
def test_readyz_is_ready_with_a_real_redis(db: None, settings: Settings) -> None:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis at {url} is not reachable (REQUIRE_SERVICES=1)")
        pytest.skip(f"Redis at {url} is not reachable")
    settings.REDIS_URL = url
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}
