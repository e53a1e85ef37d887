"""The simulator as an ASGI application, a server entry point and a prefix mount.

`create_app` returns a plain ASGI app speaking the Assistants API v2 under ``/v1``;
`serve` runs one with uvicorn; `mount_prefix` puts one under a path prefix of another app
(``config/asgi.py`` mounts it at ``/sim`` beside Django).
"""

import logging
from collections.abc import Callable
from typing import Any

from .asgi import (
    ASGIApp,
    JsonResponse,
    Receive,
    Request,
    Scope,
    Send,
    error_response,
    quiet_deliberate_aborts,
    read_request,
    relay_stream,
    send_json,
)
from .errors import ApiError, BadRequest
from .routes import resolve
from .script import DEFAULT_REPLY_TOKENS
from .service import Simulator
from .settings import Settings

logger = logging.getLogger(__name__)

_SERVER_OPTIONS = {"log_level", "access_log"}  # options of `serve` meant for uvicorn


def create_app(
    *,
    rate: float = 30.0,
    default_tokens: int = DEFAULT_REPLY_TOKENS,
    first_token_delay: float = 0.0,
    strict_headers: bool = False,
) -> ASGIApp:
    """An Assistants API v2 server with scripted replies; see docs/simulator.md."""
    settings = Settings(rate, default_tokens, first_token_delay, strict_headers)
    simulator = Simulator(settings)
    quiet_deliberate_aborts()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(simulator, receive, send)
        elif scope["type"] == "http":
            await _http(simulator, scope, receive, send)

    app.simulator = simulator  # type: ignore[attr-defined]  # for tests and embedding
    return app


async def _http(simulator: Simulator, scope: Scope, receive: Receive, send: Send) -> None:
    try:
        request = await read_request(scope, receive)
        response = _handle(simulator, request)
    except ApiError as error:
        response = error_response(error)
    except Exception:  # a bug: log it, but still answer in OpenAI's shape
        logger.exception("simulator request failed: %s %s", scope["method"], scope["path"])
        response = error_response(ApiError("The simulator failed to handle the request."))
    if isinstance(response, JsonResponse):
        await send_json(send, response)
    else:
        await relay_stream(send, receive, response)


def _handle(simulator: Simulator, request: Request) -> Any:
    if simulator.settings.strict_headers:
        _check_headers(request)
    handler, request.params = resolve(request.method, request.path)
    return handler(simulator, request)


def _check_headers(request: Request) -> None:
    if not request.headers.get("authorization", "").startswith("Bearer "):
        raise BadRequest("You didn't provide an API key.", code="missing_api_key")
    if "assistants=v2" not in request.headers.get("openai-beta", ""):
        raise BadRequest(
            "You must provide the 'OpenAI-Beta' header to access the Assistants API. "
            "Please try again by setting the header 'OpenAI-Beta: assistants=v2'.",
            code="invalid_beta",
        )


async def _lifespan(simulator: Simulator, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await simulator.shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


def serve(host: str = "127.0.0.1", port: int = 8765, **options: Any) -> None:
    """Run a simulator with uvicorn until interrupted. `options` go to `create_app`, except
    ``log_level`` and ``access_log``, which go to uvicorn."""
    import uvicorn

    server = {k: options.pop(k) for k in _SERVER_OPTIONS & options.keys()}
    uvicorn.run(create_app(**options), host=host, port=port, ws="none", lifespan="on", **server)


def mount_prefix(
    prefix: str,
    other_app: ASGIApp,
    *,
    guard: Callable[[ASGIApp], ASGIApp] | None = None,
    **options: Any,
) -> ASGIApp:
    """Route HTTP requests under `prefix` to a new simulator, with the prefix stripped
    (``/sim/v1/threads`` -> ``/v1/threads``), and everything else to `other_app`.

    `guard`, when given, wraps the simulator: an ASGI middleware of the embedding app that
    decides who may use it (``config/simulator_mount.py`` asks for a login or a key)."""
    prefix = "/" + prefix.strip("/")
    simulator = create_app(**options)
    simulator = guard(simulator) if guard is not None else simulator

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == prefix or path.startswith(prefix + "/")):
            await simulator(_strip(scope, prefix), receive, send)
        else:
            await other_app(scope, receive, send)

    return app


def _strip(scope: Scope, prefix: str) -> Scope:
    raw = scope.get("raw_path") or b""
    raw_prefix = prefix.encode()
    return {
        **scope,
        "path": scope["path"][len(prefix) :] or "/",
        "raw_path": raw[len(raw_prefix) :] if raw.startswith(raw_prefix) else raw,
        "root_path": scope.get("root_path", "") + prefix,
    }
