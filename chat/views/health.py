"""Health endpoints for load balancers and orchestrators; no login, no session, no template.

/healthz   liveness: the process answers. Touches nothing else, so a database outage does not
           make an orchestrator restart every web process at once (a restart would not help).
/readyz    readiness: the database and, when REDIS_URL is set, Redis answer. 503 names the
           check that failed, so a process is taken out of rotation, not killed.
"""

from __future__ import annotations

import os
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from redis.backoff import NoBackoff
from redis.retry import Retry

# Short: a probe that hangs for the client's default timeout reports nothing useful, and a
# probe interval is typically a few seconds. Both together stay under compose's 5 s probe
# timeout (docker-compose.yml).
REDIS_TIMEOUT_SECONDS = 1.0
DATABASE_TIMEOUT_SECONDS = 2.0


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    # The pid lets a test (or an operator with curl) see which process behind the proxy answered.
    return JsonResponse({"status": "ok", "pid": os.getpid()})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check_database()}
    if settings.REDIS_URL:
        checks["redis"] = _check_redis(settings.REDIS_URL)
    ready = all(result == "ok" for result in checks.values())
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    return JsonResponse(body, status=200 if ready else 503)


def _check_database() -> str:
    try:
        if (pool := getattr(connection, "pool", None)) is not None:
            _ping_pool(pool)
        else:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
    except Exception as exc:  # any driver error means "not ready", never a 500
        return _failure(exc)
    return "ok"


def _ping_pool(pool: Any) -> None:
    """SELECT 1 on a connection from Django's psycopg pool, waiting for one only briefly.

    Through `connection.cursor()` a probe would wait the pool's own timeout (30 s by default)
    while PostgreSQL is down, and it would wait on the thread that every sync view of this
    process shares under ASGI: one probe would stall the whole process's HTTP API.
    """
    pool.open()  # a no-op once open; Django opens it lazily on the first query
    with pool.connection(timeout=DATABASE_TIMEOUT_SECONDS) as conn:
        conn.execute("SELECT 1").fetchone()


def _check_redis(url: str) -> str:
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        # The client's default retries ten times with backoff: a probe must answer within
        # one timeout, whatever Redis does.
        retry=Retry(NoBackoff(), 0),
    )
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return _failure(exc)
    finally:
        client.close()
    return "ok"


def _failure(exc: BaseException) -> str:
    # The exception's class, not its text: a connection string may carry a password.
    return f"failed: {type(exc).__name__}"
