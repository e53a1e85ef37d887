"""Daphne's WebSocket close, with the close codes RFC 6455 gives a server.

Daphne closes a socket with autobahn's `sendClose`, which takes 1000 and 3000-4999 only (the
codes an application picks for itself): a consumer closing with 1009, "message too big"
(RFC 6455, 7.4.1), made it raise, and the socket ended with 1011 and a traceback in the log.
The codes the RFC defines for an endpoint to send go out through `sendCloseFrame`, the method
autobahn's own protocol errors close with (it closes with 1009 itself for a message over
daphne's `--websocket-max-message-size`); anything else still goes through `sendClose`, which
refuses it as before.

A message over daphne's own size limit (`--websocket-max-message-size`, 1 MiB), and any other
protocol error autobahn finds itself, fails the connection. Autobahn's default for that is
to drop the TCP connection without a close frame, which a browser reports as 1006 (abnormal
closure) and cannot tell from a network failure; here it sends its close frame first (1009
for a message too big, 1002 or 1007 for a broken frame), as for a message over the
consumer's own, lower limit, and drops the connection only if the client never answers it.

Imported by `config.asgi`, which daphne loads before it starts serving.
"""

from __future__ import annotations

from typing import Any

from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol

# RFC 6455, 7.4.1: the codes an endpoint may send (1005, 1006 and 1015 never go on the wire;
# 1010 is the client's).
RFC_SERVER_CODES = frozenset({1001, 1002, 1003, 1007, 1008, 1009, 1011})

_server_close = WebSocketProtocol.serverClose


def _server_close_with_rfc_codes(self: Any, code: int | None = None) -> None:
    if code in RFC_SERVER_CODES:
        self.sendCloseFrame(code=code)
        return
    _server_close(self, code)


if getattr(WebSocketProtocol.serverClose, "__name__", "") != _server_close_with_rfc_codes.__name__:
    WebSocketProtocol.serverClose = _server_close_with_rfc_codes  # type: ignore[method-assign]


_factory_init = WebSocketFactory.__init__


def _factory_init_failing_with_close_frames(
    self: Any, server_class: Any, *args: Any, **kwargs: Any
) -> None:
    _factory_init(self, server_class, *args, **kwargs)
    # Copied to each connection's protocol when it is made (autobahn's protocol options).
    self.setProtocolOptions(failByDrop=False)


if WebSocketFactory.__init__.__name__ != _factory_init_failing_with_close_frames.__name__:
    WebSocketFactory.__init__ = _factory_init_failing_with_close_frames  # type: ignore[method-assign]
