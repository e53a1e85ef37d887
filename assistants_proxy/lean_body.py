# ruff: noqa: ASYNC109  (the read timeout is the network stream's, given per read)
"""A response body read straight from its connection's h11 state and lean network stream.

httpcore hands each chunk of a body up through three async generators of its own (the
pool's byte stream, the connection's, the body reader), with an exception-mapping context
around each of h11's two calls per chunk, and `lean_http` added a fourth generator to map
errors to httpx's. For a stream of server-sent events that is per token.
Here one generator asks h11 for the next event and, when h11 needs data, reads the lean
stream itself: what httpcore's `_receive_response_body` does, without the layers. The
response is still closed through httpcore's own streams (`aclose`), so a finished
connection goes back to the pool as before and an unfinished one is closed.

It reads httpcore's private state (the pool stream's `_stream`, the connection's
`_connection`, `_h11_state`, `_network_stream`, `READ_NUM_BYTES`): httpcore is pinned
exactly, and tests/test_private_api.py fails when those names change. A body of any other
shape (an HTTP/2 stream, a fallback backend's) is read through httpcore's path.
"""

from __future__ import annotations

import typing

import h11
import httpcore
from httpcore._async.connection_pool import PoolByteStream
from httpcore._async.http11 import AsyncHTTP11Connection, HTTP11ConnectionByteStream

from assistants_proxy.lean_backend import _Stream

Body = typing.AsyncIterator[bytes]


def direct(stream: object, timeout: float | None) -> typing.Callable[[], Body] | None:
    """A reader of `stream`'s body that skips httpcore's layers, or None when the body is
    not an HTTP/1.1 body on the lean backend."""
    inner = getattr(stream, "_stream", None) if type(stream) is PoolByteStream else None
    if type(inner) is not HTTP11ConnectionByteStream:
        return None
    connection = inner._connection
    if type(connection) is not AsyncHTTP11Connection:
        return None
    network = connection._network_stream
    if not isinstance(network, _Stream):
        return None
    return lambda: _body(connection._h11_state, network, connection.READ_NUM_BYTES, timeout)


async def _body(state: h11.Connection, network: _Stream, size: int, timeout: float | None) -> Body:
    next_event, receive = state.next_event, state.receive_data
    while True:
        try:
            event = next_event()
        except h11.RemoteProtocolError as exc:
            raise httpcore.RemoteProtocolError(str(exc)) from exc
        if event is h11.NEED_DATA:
            # b"" is the connection's end: h11 then raises on a body left unfinished.
            receive(await network.read(size, timeout))
        elif type(event) is h11.Data:
            yield bytes(event.data)
        elif type(event) is h11.EndOfMessage or event is h11.PAUSED:
            return
