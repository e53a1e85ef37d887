"""The upstream transport (`assistants_proxy.lean_http`) and its network backend
(`assistants_proxy.lean_backend`), against real sockets: a small HTTP/1.1 server on loopback,
plain and over TLS, that streams, stalls or hangs up."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpcore
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from assistants_proxy import lean_backend, lean_body, lean_http

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=10)


async def read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
    await reader.readexactly(int(lengths[0].split(b":")[1]) if lengths else 0)


async def chunked(writer: asyncio.StreamWriter, chunks: list[bytes], pause: float = 0.0) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                 b"transfer-encoding: chunked\r\n\r\n")  # fmt: skip
    for chunk in chunks:
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
        await asyncio.sleep(pause)
    writer.write(b"0\r\n\r\n")
    await writer.drain()


@asynccontextmanager
async def server(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """Serves on a free port; on exit, every connection is closed and every handler done."""
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
    try:
        yield srv.sockets[0].getsockname()[1]
    finally:
        srv.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await srv.wait_closed()


def client(ssl_context: ssl.SSLContext | None = None, timeout: float = 5.0) -> httpx.AsyncClient:
    context = ssl_context or ssl.create_default_context()
    transport = lean_http.transport(ssl_context=context, limits=LIMITS)
    return httpx.AsyncClient(transport=transport, timeout=timeout)


def events(count: int) -> list[bytes]:
    return [b'event: thread.message.delta\ndata: {"n": %d}\n\n' % i for i in range(count)]


async def read_body(handler: Handler, read_timeout: float = 5.0) -> None:
    """A GET to a server answering with `handler`, its body read to the end."""
    async with (
        server(handler) as port,
        client(timeout=read_timeout) as http,
        http.stream("GET", f"http://127.0.0.1:{port}/") as response,
    ):
        async for _ in response.aiter_raw():
            pass


async def test_it_streams_a_chunked_response_over_plain_tcp() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await chunked(writer, events(50), pause=0.001)

    async with (
        server(handler) as port,
        client() as http,
        http.stream("POST", f"http://127.0.0.1:{port}/runs", json={}) as response,
    ):
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    assert body == b"".join(events(50))


def self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert_path, key_path)
    return server_side, ssl.create_default_context(cafile=str(cert_path))


async def test_it_streams_over_tls_and_reads_past_its_buffer_limit(tmp_path: Path) -> None:
    server_side, client_side = self_signed(tmp_path)
    # More than the backend buffers before it stops reading the socket: reading goes on.
    big = [b"x" * 65536] * 8

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await chunked(writer, big)

    async with (
        server(handler, tls=server_side) as port,
        client(client_side) as http,
        http.stream("GET", f"https://localhost:{port}/big") as response,
    ):
        await asyncio.sleep(0.2)  # let the server fill the buffer first
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    assert body == b"".join(big)


async def test_it_rejects_a_certificate_it_does_not_trust(tmp_path: Path) -> None:
    server_side, _ = self_signed(tmp_path)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pass

    async with server(handler, tls=server_side) as port, client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"https://localhost:{port}/")


async def test_a_silent_stream_raises_read_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        await asyncio.sleep(2)

    with pytest.raises(httpx.ReadTimeout):
        await read_body(handler, read_timeout=0.3)


async def test_a_connection_dropped_mid_body_raises_a_transport_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        writer.transport.abort()

    with pytest.raises(httpx.TransportError):
        await read_body(handler)


async def test_a_refused_connection_raises_connect_error() -> None:
    async with server(read_request) as port:
        pass  # closed: nothing listens on the port now
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")


async def test_it_reuses_a_kept_alive_connection() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        for _ in range(2):
            await read_request(reader)
            await chunked(writer, events(3))

    async with server(handler) as port, client() as http:
        for _ in range(2):
            response = await http.get(f"http://127.0.0.1:{port}/")
            assert response.content == b"".join(events(3))
    assert connections == 1


async def test_idle_connections_are_kept_while_more_than_the_keepalive_limit_are_busy() -> None:
    """LIMITS keeps 10 idle connections. With 12 streams open, httpcore's own pass compared
    the count of all connections with that limit and closed each connection as it fell idle;
    the requests after it then needed new ones."""
    connections = 0
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if head.startswith(b"GET /hold"):
                await chunked(writer, events(1))
                await release.wait()
                return
            await chunked(writer, events(2))

    async with server(handler) as port, client() as http:
        base = f"http://127.0.0.1:{port}"
        held = [await http.send(http.build_request("GET", base + "/hold"), stream=True)
                for _ in range(12)]  # fmt: skip
        for _ in range(3):
            answers = await asyncio.gather(*(http.get(base + "/quick") for _ in range(4)))
            assert all(answer.content == b"".join(events(2)) for answer in answers)
        release.set()
        for response in held:
            await response.aclose()
    assert connections == 12 + 4


async def test_more_requests_than_the_pool_may_connect_queue_and_all_complete() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            await chunked(writer, events(3), pause=0.001)

    limits = httpx.Limits(max_connections=3, max_keepalive_connections=2)
    transport = lean_http.transport(ssl_context=ssl.create_default_context(), limits=limits)
    async with server(handler) as port, httpx.AsyncClient(transport=transport) as http:
        answers = await asyncio.gather(
            *(http.get(f"http://127.0.0.1:{port}/{i}") for i in range(20))
        )
    assert [answer.content for answer in answers] == [b"".join(events(3))] * 20


async def test_a_long_stream_never_silent_for_its_timeout_does_not_time_out() -> None:
    """The read timeout is the longest silence: each wait gets the whole of it, however long
    the stream has been going (the backend keeps one timer per connection and moves it)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await chunked(writer, events(12), pause=0.1)  # 1.2 s in all, never 0.3 s silent

    async with (
        server(handler) as port,
        client(timeout=0.3) as http,
        http.stream("GET", f"http://127.0.0.1:{port}/") as response,
    ):
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    assert body == b"".join(events(12))


async def test_a_stream_that_falls_silent_after_a_while_times_out_after_its_silence() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for chunk in events(5):
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            await asyncio.sleep(0.1)
        await asyncio.sleep(3)

    loop = asyncio.get_running_loop()
    async with (
        server(handler) as port,
        client(timeout=0.4) as http,
        http.stream("GET", f"http://127.0.0.1:{port}/") as response,
    ):
        received = []
        with pytest.raises(httpx.ReadTimeout):
            async for chunk in response.aiter_raw():
                received.append(chunk)
                last = loop.time()
        silent_for = loop.time() - last
    assert b"".join(received) == b"".join(events(5))
    assert 0.35 <= silent_for < 1.5


async def test_a_read_with_a_shorter_timeout_than_the_last_is_not_given_the_longer_one() -> None:
    """A pooled connection's next request may time out sooner, or not at all."""
    loop = asyncio.get_running_loop()
    buffer = lean_backend._Buffer()
    loop.call_later(0.05, buffer.data_received, b"x")
    await buffer.wait_for_data(5.0)  # leaves a timer armed for about 5 s from now
    buffer.data.clear()

    started = loop.time()
    with pytest.raises(httpcore.ReadTimeout):
        await buffer.wait_for_data(0.2)
    assert loop.time() - started < 1.0

    loop.call_later(0.4, buffer.data_received, b"y")
    await buffer.wait_for_data(None)  # no timeout: the earlier timers do not apply
    assert buffer.data == b"y"


async def test_a_body_is_read_by_the_direct_reader_over_tcp_and_tls(tmp_path: Path) -> None:
    """Every body above went through `lean_body`'s reader, not httpcore's layers: the pool's
    streams have the shape it reads, plain and over TLS, and a body read through it leaves
    its connection idle in the pool for the next request."""
    server_side, client_side = self_signed(tmp_path)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await chunked(writer, events(5), pause=0.001)
        await reader.read()  # the connection stays open, to be reused

    for tls, context, host in ((None, None, "127.0.0.1"), (server_side, client_side, "localhost")):
        scheme = "https" if tls else "http"
        pool = lean_http.transport(
            ssl_context=context or ssl.create_default_context(), limits=LIMITS
        ).pool
        async with server(handler, tls=tls) as port, pool:
            response = await pool.handle_async_request(
                httpcore.Request(
                    "GET", f"{scheme}://{host}:{port}/", headers=[(b"Host", host.encode())]
                )
            )
            read = lean_body.direct(response.stream, timeout=5.0)
            assert read is not None
            body = b"".join([chunk async for chunk in read()])
            await response.aclose()
            assert body == b"".join(events(5))
            assert [c.is_idle() for c in pool.connections] == [True]
    assert lean_body.direct(object(), timeout=None) is None


async def test_a_malformed_chunk_raises_a_protocol_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n")
        await writer.drain()
        await asyncio.sleep(1)

    with pytest.raises(httpx.RemoteProtocolError):
        await read_body(handler)
