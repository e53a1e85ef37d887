# ruff: noqa: ASYNC109  (httpcore's network interface takes `timeout` arguments)
"""A lean asyncio network backend for httpcore, for the upstream streams.

httpcore reads its sockets through anyio by default. For a stream of small server-sent events
that is, per read (one read per token), a cancel scope for the read timeout and a resume and
pause of the transport's reading (two `epoll_ctl` calls): about a sixth of the CPU of
relaying a token. The backend here keeps a connection's transport reading into a buffer (up
to a high-water mark) and serves reads from it; a timeout is one timer, armed only when a
read has to wait. It implements httpcore's public `AsyncNetworkBackend` interface; TLS is
asyncio's. `lean_http` builds the pool and the httpx transport on it.
"""

from __future__ import annotations

import asyncio
import math
import ssl
import typing

import httpcore

HIGH_WATER = 256 * 1024  # bytes buffered before the socket stops being read
LOW_WATER = 64 * 1024


class _Buffer(asyncio.Protocol):
    def __init__(self) -> None:
        self.data = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[None] | None = None
        # The read timeout: a wait for data fails once it has lasted its timeout. One timer
        # per connection, moved lazily (`wait_for_data`), not a timer made and cancelled for
        # every read: a stream of tokens waits for each of them.
        self.deadline = math.inf
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = math.inf  # when the armed timer fires
        self.paused = False
        self.write_paused = False
        self.drained: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.data += data
        if len(self.data) > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
            self.timer_at = math.inf
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def wait_for_data(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter = self.waiter = loop.create_future()
        self.deadline = math.inf if timeout is None else loop.time() + timeout
        if self.deadline < self.timer_at:  # none armed, or armed too late for this wait
            if self.timer is not None:
                self.timer.cancel()
            self._arm(loop)
        try:
            await waiter
        finally:
            self.waiter = None

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.deadline == math.inf:
            self.timer, self.timer_at = None, math.inf
        else:
            self.timer = loop.call_at(self.deadline, self._on_timer)
            self.timer_at = self.deadline

    def _on_timer(self) -> None:
        # Armed for an earlier wait's deadline: the wait in progress, if any, may have a later
        # one (the timer then moves there), or none is in progress (it is dropped, and the
        # next wait arms one).
        armed_for = self.timer_at
        self.timer, self.timer_at = None, math.inf
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.deadline <= armed_for:
            waiter.set_exception(httpcore.ReadTimeout())
        else:
            self._arm(asyncio.get_running_loop())


def _expire(future: asyncio.Future[None], error: type) -> None:
    if not future.done():
        future.set_exception(error())


async def _wait(future: asyncio.Future[None], seconds: float | None, error: type) -> None:
    timer = None
    if seconds is not None:
        timer = asyncio.get_running_loop().call_later(seconds, _expire, future, error)
    try:
        await future
    finally:
        if timer is not None:
            timer.cancel()


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, buffer: _Buffer) -> None:
        self._transport = transport
        self._buffer = buffer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        buffer = self._buffer
        if not buffer.data and not buffer.eof:
            await buffer.wait_for_data(timeout)
        data = buffer.data
        if data:
            if len(data) <= max_bytes:  # the usual case: one event, one read
                chunk = bytes(data)
                data.clear()
            else:
                chunk = bytes(data[:max_bytes])
                del data[:max_bytes]
            if buffer.paused and len(data) < LOW_WATER:
                buffer.paused = False
                self._transport.resume_reading()
            return chunk
        if buffer.error is not None:
            raise httpcore.ReadError(str(buffer.error))
        return b""

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        if not data:
            return
        buffer = self._buffer
        if self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self._transport.write(data)
        if buffer.write_paused:
            buffer.drained = asyncio.get_running_loop().create_future()
            try:
                await _wait(buffer.drained, timeout, httpcore.WriteTimeout)
            finally:
                buffer.drained = None
            if buffer.error is not None:
                raise httpcore.WriteError(str(buffer.error))

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            tls = await asyncio.wait_for(
                loop.start_tls(
                    self._transport, self._buffer, ssl_context, server_hostname=server_hostname
                ),
                timeout,
            )
        except TimeoutError:
            self._transport.close()
            raise httpcore.ConnectTimeout("TLS handshake timed out") from None
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        if tls is None:
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        tls_transport = typing.cast(asyncio.Transport, tls)
        self._buffer.transport = tls_transport  # flow control goes through the TLS layer now
        return _Stream(tls_transport, self._buffer)

    def get_extra_info(self, info: str) -> typing.Any:
        transport = self._transport
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        if info == "is_readable":
            # An idle pooled connection with something to read has been closed by the
            # server (or sent garbage): httpcore then drops it instead of reusing it.
            return bool(self._buffer.data) or self._buffer.eof
        return None


class LeanBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._fallback = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            transport, buffer = await asyncio.wait_for(
                loop.create_connection(_Buffer, host, port, local_addr=local), timeout
            )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _Stream(typing.cast(asyncio.Transport, transport), buffer)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._fallback.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
