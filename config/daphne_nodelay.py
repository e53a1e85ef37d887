"""Daphne's send path, without its delays and detours: TCP_NODELAY, writes that go out at
once, and WebSocket messages framed in a few lines.

Twisted, unlike asyncio, leaves Nagle's algorithm on. Daphne writes a response's headers and
body, and each WebSocket frame, as separate small writes; with Nagle on, a write waits for
the peer to acknowledge the previous one, and the peer delays its ACK by up to 40 ms. A
streaming relay then adds tens of milliseconds to the first token and to every burst of
deltas.

Twisted also never writes in `transport.write`: it buffers the bytes, registers the socket
for writability, and sends on the reactor's next turn, then unregisters it. For a relay that
is two `epoll_ctl` calls, a loop turn and a page of Python for every frame of every socket,
about a sixth of the CPU of relaying a token. asyncio's transports (and so uvicorn and the
`websockets` library) try the `send` at once and buffer only what the kernel did not take;
the connections daphne accepts do the same here. Bytes already buffered go first, so the
order of the stream never changes.

Daphne hands each message to autobahn's `sendMessage`, a general sender (compression,
fragmentation, masking, frame logging, timing) that also formats a debug log line's arguments
(`hltype`, `hlval`) on every frame, logging on or not: another sixth. A message that needs
none of these (the connection is open, nothing negotiated compression, nothing is queued, no
size limit or fragmenting applies) is framed here as RFC 6455 says for a server (FIN, opcode,
length, unmasked payload) and written; anything else takes autobahn's path.

Twisted's HTTP request also parses every POST body it receives (form fields and multipart
uploads, into `request.args`) before daphne reads the body again for the application, which
is all that ever uses it: the parsing is turned off. Twisted parsed the Content-Type with
the email package's header registry, which creates a new class for every header it parses:
a class and its reference cycles per POST, for the garbage collector.

Imported by `config.asgi`, which daphne loads before it starts serving.
"""

from __future__ import annotations

from typing import Any

from autobahn.websocket.protocol import WebSocketProtocol as AutobahnProtocol
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.ws_protocol import WebSocketProtocol

_build_protocol = HTTPFactory.buildProtocol
_server_send = WebSocketProtocol.serverSend
_OPEN = AutobahnProtocol.STATE_OPEN


def _server_send_framed(self: Any, content: bytes | str, binary: bool = False) -> None:
    payload: bytes = content if isinstance(content, bytes) else content.encode("utf8")
    size = len(payload)
    if (
        self.state != _OPEN
        or self._perMessageCompress is not None
        or self.send_queue
        or self.logFrames
        or self.trackedTimings
        or self.factory.maskServerFrames
        or 0 < self.autoFragmentSize < size
        or 0 < self.maxMessagePayloadSize < size
    ):
        _server_send(self, content, binary)
        return
    head = 0x82 if binary else 0x81  # FIN + binary or text
    if size <= 125:
        frame = bytes((head, size)) + payload
    elif size <= 0xFFFF:
        frame = bytes((head, 126)) + size.to_bytes(2, "big") + payload
    else:
        frame = bytes((head, 127)) + size.to_bytes(8, "big") + payload
    self.transport.write(frame)


def _write_at_once(transport: Any) -> None:
    buffered_write = transport.write

    def write(data: bytes) -> None:
        if (
            data
            and not transport._tempDataLen  # nothing waits in Twisted's buffers...
            and transport.offset == len(transport.dataBuffer)
            and transport.connected  # ...and the connection is open for writing
            and not transport.disconnecting
            and not transport._writeDisconnected
            and not getattr(transport, "TLS", False)
        ):
            sent = transport.writeSomeData(data)  # a non-blocking send; 0 when it would block
            if not isinstance(sent, int):
                # The connection broke: Twisted's own write path meets the error again on
                # its next turn and closes the connection the usual way.
                buffered_write(data)
                return
            if sent == len(data):
                return
            data = data[sent:]
        buffered_write(data)

    transport.write = write


def _build_protocol_without_delay(self: HTTPFactory, addr: Any) -> Any:
    protocol = _build_protocol(self, addr)
    make_connection = protocol.makeConnection

    def make_connection_without_delay(transport: Any) -> None:
        if hasattr(transport, "setTcpNoDelay"):
            transport.setTcpNoDelay(True)
        if hasattr(transport, "writeSomeData") and hasattr(transport, "dataBuffer"):
            _write_at_once(transport)
        make_connection(transport)

    protocol.makeConnection = make_connection_without_delay
    return protocol


_web_request_init = WebRequest.__init__


def _web_request_init_without_form_parsing(self: Any, *args: Any, **kwargs: Any) -> None:
    kwargs.setdefault("parsePOSTFormSubmission", False)
    _web_request_init(self, *args, **kwargs)


if getattr(WebRequest.__init__, "__name__", "") != _web_request_init_without_form_parsing.__name__:
    WebRequest.__init__ = _web_request_init_without_form_parsing  # type: ignore[method-assign]
if getattr(HTTPFactory.buildProtocol, "__name__", "") != _build_protocol_without_delay.__name__:
    HTTPFactory.buildProtocol = _build_protocol_without_delay  # type: ignore[method-assign]
if getattr(WebSocketProtocol.serverSend, "__name__", "") != _server_send_framed.__name__:
    WebSocketProtocol.serverSend = _server_send_framed  # type: ignore[method-assign]
