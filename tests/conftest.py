"""Fixtures shared by every test package.

`simulator_url` is a real simulator server on a free loopback port (uvicorn in a thread),
shared by the session and fast-paced (1000 tokens/s) so streams take milliseconds; a test
that needs human pacing asks for it per message with ``/sim rate=N``.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn

from assistants_proxy.simulator import create_app

TEST_RATE = 1000.0  # tokens per second


class _ErrorLog(logging.Handler):
    """Collects the server's error records, so tests can check it logged no traceback."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class SimulatorServer:
    url: str  # base URL ending in /v1, as the openai SDK's base_url wants it
    errors: list[logging.LogRecord] = field(default_factory=list)


@pytest.fixture(scope="session")
def simulator_server() -> Iterator[SimulatorServer]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(rate=TEST_RATE), ws="none", lifespan="on", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    handler = _ErrorLog()
    loggers = [logging.getLogger(name) for name in ("uvicorn.error", "assistants_proxy")]
    for logger in loggers:
        logger.addHandler(handler)
    thread.start()
    _wait_started(server)
    yield SimulatorServer(f"http://127.0.0.1:{port}/v1", handler.records)
    server.should_exit = True
    thread.join(timeout=10)
    for logger in loggers:
        logger.removeHandler(handler)
    sock.close()


@pytest.fixture(scope="session")
def simulator_url(simulator_server: SimulatorServer) -> str:
    """Base URL of the shared simulator, e.g. ``http://127.0.0.1:PORT/v1``."""
    return simulator_server.url


def _wait_started(server: uvicorn.Server) -> None:
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the simulator did not start within 10 s")
        time.sleep(0.01)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django's test database, with every PostgreSQL session on it closed before it is
    dropped: the pool keeps connections open (DATABASE_POOL_MIN), a worker thread of an ended
    event loop may still hold one, and a database with a session on it cannot be dropped."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            if connection.vendor != "postgresql":
                continue
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            connection.close_pool()  # type: ignore[attr-defined]
