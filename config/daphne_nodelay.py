"""TCP_NODELAY on every connection daphne accepts.

Twisted, unlike asyncio, leaves Nagle's algorithm on. Daphne writes a response's headers and
body, and each WebSocket frame, as separate small writes; with Nagle on, a write waits for
the peer to acknowledge the previous one, and the peer delays its ACK by up to 40 ms. A
streaming relay then adds tens of milliseconds to the first token and to every burst of
deltas. Imported by `config.asgi`, which daphne loads before it starts serving.
"""

from __future__ import annotations

from typing import Any

from daphne.http_protocol import HTTPFactory

_build_protocol = HTTPFactory.buildProtocol


def _build_protocol_without_nagle(self: HTTPFactory, addr: Any) -> Any:
    protocol = _build_protocol(self, addr)
    make_connection = protocol.makeConnection

    def make_connection_without_nagle(transport: Any) -> None:
        if hasattr(transport, "setTcpNoDelay"):
            transport.setTcpNoDelay(True)
        make_connection(transport)

    protocol.makeConnection = make_connection_without_nagle
    return protocol


if getattr(HTTPFactory.buildProtocol, "__name__", "") != _build_protocol_without_nagle.__name__:
    HTTPFactory.buildProtocol = _build_protocol_without_nagle  # type: ignore[method-assign]
