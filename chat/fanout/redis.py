"""Redis for the fan-out (active when REDIS_URL is set): clients, key names, control messages,
and the one way this package waits out an outage.

Every run's frames go to a Redis stream, `<REDIS_KEY_PREFIX>:run:<id>:log`, whose entry ids are
`0-<seq>` (`redis_sink`); server processes mirror the streams of the runs their sockets watch
(`redis_tail`); `redis_hub.DistributedHub` puts the two behind the in-process hub's interface.
Control messages are few and go through the channel layer to the thread's group: `run.started`
when a run is queued or started, so that every process with sockets on the thread mirrors it,
and `run.settled` when a run was settled without its stream (its process died).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import hiredis
from channels.layers import get_channel_layer
from django.conf import settings
from redis.asyncio import Redis
from redis.asyncio.connection import (
    AbstractConnection,
    Connection,
    ConnectionPool,
    SSLConnection,
    UnixDomainSocketConnection,
    parse_url,
)
from redis.exceptions import DataError, RedisError

logger = logging.getLogger(__name__)

READ_BLOCK_MS = 5000
FIRST_BACKOFF_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 2.0
# What an outage looks like to redis-py's asyncio client and to the sockets under it.
OUTAGE: tuple[type[BaseException], ...] = (RedisError, OSError)

T = TypeVar("T")


def enabled() -> bool:
    return bool(settings.REDIS_URL)


def _prefix() -> str:
    return str(settings.REDIS_KEY_PREFIX)


def log_key(run_id: int) -> str:
    return f"{_prefix()}:run:{run_id}:log"


def wake_key() -> str:
    return f"{_prefix()}:wake:{uuid.uuid4().hex}"


def queue_key() -> str:
    return f"{_prefix()}:runs:queue"


def cancel_channel() -> str:
    return f"{_prefix()}:runs:cancel"


def thread_group(thread_id: int) -> str:
    return f"thread-{thread_id}"


# -- waiting out an outage ----------------------------------------------------------------


def being_cancelled() -> bool:
    """True when the running task was asked to stop. redis-py may surface a cancelled command
    as a connection error: a retry loop must not mistake that for an outage and go on."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def retry_through_outages(
    attempt: Callable[[], Awaitable[T]],
    *,
    what: str,
    errors: tuple[type[BaseException], ...] = OUTAGE,
) -> T:
    """`await attempt()` until it succeeds, backing off (50 ms doubling to 2 s) while Redis is
    unreachable. Every loop here that talks to Redis goes through this: none of them may die
    with a Redis restart, and none may keep retrying once its task is cancelled."""
    backoff = FIRST_BACKOFF_SECONDS
    while True:
        if being_cancelled():
            raise asyncio.CancelledError
        try:
            return await attempt()
        except errors as exc:
            if being_cancelled():
                # A cancelled command, not an outage: the task ends as cancelled (a consumer's
                # receive that ended with the command's error instead was logged by the
                # server as an exception inside the application, at every socket close
                # under load).
                raise asyncio.CancelledError from exc
            logger.warning("%s: Redis unavailable (%s); retrying", what, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


# -- clients ------------------------------------------------------------------------------


class _HiredisPacking:
    """Commands packed by hiredis (C), as redis-py's synchronous client does; its asyncio
    client packs them in Python. Every frame is one XADD, and a server process's mirror names
    every stream it watches in each XREAD: packing was a sixth of a server process's CPU."""

    def pack_command(self, *args: Any) -> list[bytes]:
        name = args[0]
        if isinstance(name, str):
            args = (*name.encode().split(), *args[1:])
        elif b" " in name:
            args = (*name.split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            pass  # a bytearray or memoryview, maybe: as bytes
        args = tuple(bytes(a) if isinstance(a, bytearray | memoryview) else a for a in args)
        try:
            return [hiredis.pack_command(args)]
        except TypeError as exc:
            raise DataError(str(exc)) from exc


@functools.cache
def _connection_class(url: str) -> type[Connection]:
    base: type[Connection] = {
        "rediss": SSLConnection,
        "unix": UnixDomainSocketConnection,
    }.get(urlsplit(url).scheme, Connection)  # type: ignore[assignment]
    return type(f"Hiredis{base.__name__}", (_HiredisPacking, base), {})


def _client(url: str, *, socket_timeout: float) -> Redis:
    # The pool is made here, not by `Redis.from_url`: that replaces the connection class with
    # its own for rediss:// and unix:// URLs, and hiredis would pack for redis:// only.
    options: dict[str, Any] = {**parse_url(url), "connection_class": _connection_class(url)}
    pool = ConnectionPool(
        decode_responses=True,
        socket_connect_timeout=2.0,
        socket_timeout=socket_timeout,
        **options,
    )
    return Redis.from_pool(pool)


# Clients are per event loop: a redis.asyncio connection belongs to the loop that opened it.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Redis, Redis]] = (
    weakref.WeakKeyDictionary()
)


def _clients_for_loop() -> tuple[Redis, Redis]:
    loop = asyncio.get_running_loop()
    pair = _clients.get(loop)
    if pair is None:
        commands = _client(settings.REDIS_URL, socket_timeout=5.0)
        # Blocking reads wait up to READ_BLOCK_MS for data: their timeout must be longer.
        blocking = _client(settings.REDIS_URL, socket_timeout=READ_BLOCK_MS / 1000 + 5.0)
        pair = _clients[loop] = (commands, blocking)
    return pair


def reader_connection() -> AbstractConnection:
    """A connection of its own for a loop's busiest read (a mirror's XREAD, several hundred a
    second), used without redis-py's client: its pool checkout, retry wrapper and reply
    converted into a dict per entry were half of a mirror's CPU. No socket timeout: with one,
    redis-py starts a task for every command it writes; the reader times its reads itself."""
    pool = blocking_redis().connection_pool
    # RESP2 whatever the URL asks: the reader walks its replies as lists.
    options = {**pool.connection_kwargs, "socket_timeout": None, "protocol": 2}
    return pool.connection_class(**options)


def redis() -> Redis:
    """The client for ordinary commands, on the running loop."""
    return _clients_for_loop()[0]


def blocking_redis() -> Redis:
    """The client for blocking reads (XREAD BLOCK, BRPOP, pub/sub), on the running loop."""
    return _clients_for_loop()[1]


# -- control messages and stream positions --------------------------------------------------


async def notify(thread_id: int, message: dict[str, Any]) -> None:
    """A control message to every socket on the thread, in every process."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(thread_group(thread_id), message)
    except OUTAGE as exc:
        logger.warning("thread %s: could not send %s: %s", thread_id, message["type"], exc)


async def last_seq(run_id: int) -> int | None:
    """The seq of the last frame in the run's stream; None when there is no stream."""
    entries: Any = await redis().xrevrange(log_key(run_id), count=1)
    return entry_seq(str(entries[0][0])) if entries else None


def entry_seq(entry_id: str) -> int:
    return int(entry_id.partition("-")[2])
