"""httpx's transport for the upstream streams: httpcore's connection pool on the lean asyncio
backend (`lean_backend`), with a linear assignment pass.

Connections, HTTP/1.1 parsing (h11), pooling and the errors httpx raises are as with httpx's
own transport: httpcore's `ReadTimeout` becomes httpx's, and so on. The pool is built through
public API (`network_backend=`). One override reaches into httpcore's private pool internals
(`_Pool`): httpcore is pinned exactly for it, and `tests/test_private_api.py` fails when the
pinned version or those names change.
"""

from __future__ import annotations

import contextlib
import ssl
import typing

import httpcore
import httpx

from assistants_proxy import lean_body
from assistants_proxy.lean_backend import LeanBackend


class _Pool(httpcore.AsyncConnectionPool):
    """httpcore's pool with its assignment pass in one walk over the connections.

    httpcore 1.0.9 runs `_assign_requests_to_connections` whenever a request starts or a
    response closes. For each idle connection it counts *all* connections, and for each
    queued request it filters them all again: with 200 streams in flight and their
    connections kept alive between runs, that pass took 40 % of the server's CPU. It also
    compared that count of all connections with `max_keepalive_connections`, so while many
    streams were open, every connection that fell idle was closed and the next run opened a
    new one. Here the pass walks the connections once, keeps up to
    `max_keepalive_connections` idle ones whatever the number of busy ones, and gives each
    idle connection to at most one queued request per pass. The pool speaks HTTP/1.1 only
    (no connection is shared by two requests at once).
    """

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        closing: list[httpcore.AsyncConnectionInterface] = []
        kept: list[httpcore.AsyncConnectionInterface] = []
        idle: list[httpcore.AsyncConnectionInterface] = []
        for connection in self._connections:
            if not connection.is_idle():  # busy (most of them), connecting, or closed
                if not connection.is_closed():
                    kept.append(connection)
                continue
            if connection.is_closed():  # its connect failed
                continue
            if connection.has_expired() or len(idle) >= self._max_keepalive_connections:
                closing.append(connection)
                continue
            idle.append(connection)
            kept.append(connection)
        self._connections[:] = kept

        queued = [request for request in self._requests if request.is_queued()]
        if not queued:
            return closing
        available = [connection for connection in idle if connection.is_available()]
        for request in queued:
            origin = request.request.url.origin
            reused = next((c for c in available if c.can_handle_request(origin)), None)
            if reused is not None:
                available.remove(reused)
                if reused in idle:
                    idle.remove(reused)
                connection = reused
            else:
                if len(self._connections) >= self._max_connections:
                    if not idle:
                        continue  # stays queued until a connection frees up
                    surplus = idle.pop(0)  # to another origin: this one had none
                    if surplus in available:
                        available.remove(surplus)
                    self._connections.remove(surplus)
                    closing.append(surplus)
                connection = self.create_connection(origin)
                self._connections.append(connection)
            request.assign_to_connection(connection)
        return closing


# httpcore's errors as httpx's, as httpx's own transport maps them: callers catch httpx's.
_ERRORS: dict[type[Exception], type[httpx.HTTPError]] = {
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
}


def _httpx_error(exc: Exception) -> Exception:
    """The httpx error for an httpcore one (the most specific class that matches)."""
    for cls in type(exc).__mro__:
        mapped = _ERRORS.get(cls)
        if mapped is not None:
            return mapped(str(exc))
    return exc


@contextlib.contextmanager
def _httpx_errors() -> typing.Iterator[None]:
    try:
        yield
    except Exception as exc:
        error = _httpx_error(exc)
        if error is exc:
            raise
        raise error from exc


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: typing.AsyncIterable[bytes], timeout: float | None) -> None:
        self._stream = stream
        self._direct = lean_body.direct(stream, timeout)

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        parts = self._stream if self._direct is None else self._direct()
        try:
            with _httpx_errors():
                async for part in parts:
                    yield part
        except BaseException:
            # As httpcore's own streams do: a body that failed is closed (its connection with
            # it) before the error goes up. httpcore's path has closed it already.
            await self.aclose()
            raise

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


class LeanTransport(httpx.AsyncBaseTransport):
    """httpx requests over an httpcore pool, as httpx's `AsyncHTTPTransport` sends them."""

    def __init__(self, pool: httpcore.AsyncConnectionPool) -> None:
        self.pool = pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=typing.cast(typing.AsyncIterable[bytes], request.stream),
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self.pool.handle_async_request(core)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(
                typing.cast(typing.AsyncIterable[bytes], response.stream),
                request.extensions.get("timeout", {}).get("read"),
            ),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.pool.aclose()


def transport(*, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> LeanTransport:
    pool = _Pool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=LeanBackend(),
    )
    return LeanTransport(pool)
