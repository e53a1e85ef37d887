"""The WebSocket handshake's Origin check: the rule Django's CSRF check applies to a POST.

A browser sends its cookies with a WebSocket handshake whatever page's script opened it, and
cookies ignore ports: a page of another app on `127.0.0.1:9000` opens a socket to this site on
`127.0.0.1:8000` with the user's session. Only the Origin header tells the two apart. A socket
is admitted when its origin's scheme, host and port are the request's own (the Host header,
which must be in ALLOWED_HOSTS, and the scheme the browser used, from X-Forwarded-Proto behind
the proxy), or one of CSRF_TRUSTED_ORIGINS. The comparison is Django's own (`CsrfViewMiddleware`
verifies an Origin header this way), so that a socket and a POST agree on every origin.

A handshake without an Origin header is refused too: every browser sends one, so only a
non-browser client omits it, and such a client can send whatever Origin it likes anyway.

A refused socket is accepted, then closed with 4403: a refused handshake looks to a browser
like a network failure, after which the page would try again for ever.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware

CLOSE_FORBIDDEN_ORIGIN = 4403


class SameOriginSockets:
    """ASGI middleware in front of the WebSocket routes."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            await _refuse(receive, send)
            return None
        return await self.app(scope, receive, send)


def origin_allowed(scope: dict[str, Any]) -> bool:
    request = _HandshakeRequest(scope)
    if "HTTP_ORIGIN" not in request.META:
        return False
    # Made per handshake: its lists of trusted origins are read from the settings once.
    csrf = CsrfViewMiddleware(_no_response)
    return bool(csrf._origin_verified(request))  # type: ignore[attr-defined]


class _HandshakeRequest(HttpRequest):
    """The handshake as the request Django's origin check reads: headers, server, scheme."""

    def __init__(self, scope: dict[str, Any]) -> None:
        super().__init__()
        for name, value in scope.get("headers", []):
            key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
            self.META[key] = value.decode("latin-1")
        host, port = scope.get("server") or ("", "")
        self.META["SERVER_NAME"], self.META["SERVER_PORT"] = str(host), str(port)
        self._secure = scope.get("scheme") in ("wss", "https")

    def _get_scheme(self) -> str:
        # Without a proxy: the scheme the socket came in on. With SECURE_PROXY_SSL_HEADER
        # present, Django reads that header instead, as for any request.
        return "https" if self._secure else "http"


async def _refuse(receive: Any, send: Any) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": CLOSE_FORBIDDEN_ORIGIN})


def _no_response(request: HttpRequest) -> HttpResponse:
    raise AssertionError("the origin check never calls the view")  # pragma: no cover
