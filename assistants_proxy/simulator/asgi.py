"""Plain-ASGI plumbing: read a request, send a JSON response, relay an event stream.

Streams are flushed one event per ``http.response.body`` message. A deliberate abort
(``/sim drop-after=N``) returns without finishing the body, which makes the server cut the
connection mid-chunk the way a crashed upstream does; `quiet_deliberate_aborts` keeps that
from being logged as an application error.
"""

import asyncio
import contextvars
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from assistants_proxy.ids import new_id

from .channel import END, GONE, EventChannel
from .errors import ApiError, BadRequest
from .wire import DONE_FRAME, JsonObject

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 4 * 1024 * 1024
_ABORTED = contextvars.ContextVar("simulator_aborted", default=False)
_UNFINISHED = "ASGI callable returned without completing response."


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> JsonObject:
        """The body as a JSON object; an empty body counts as ``{}``."""
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except (ValueError, RecursionError):
            raise BadRequest("We could not parse the JSON body of your request.") from None
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object.")
        return data


@dataclass
class JsonResponse:
    body: JsonObject
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class StreamResponse:
    channel: EventChannel
    drop_after: int | None = None  # cut the connection after this many text deltas
    done_frame: bytes = DONE_FRAME  # what ends the stream; Responses streams have none


# Frames that carry reply text, whatever the protocol: what `drop-after=N` counts.
DELTA_EVENTS = frozenset(
    {
        "thread.message.delta",
        "chat.completion.delta",
        "response.output_text.delta",
        "response.refusal.delta",
    }
)


Response = JsonResponse | StreamResponse


async def read_request(scope: Scope, receive: Receive) -> Request:
    body = bytearray()
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            raise BadRequest("The request body is too large.")
        if not message.get("more_body"):
            break
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    return Request(scope["method"], scope["path"], query, headers, bytes(body))


def error_response(error: ApiError) -> JsonResponse:
    return JsonResponse(error.body(), error.status, error.headers)


async def send_json(send: Send, response: JsonResponse) -> None:
    body = json.dumps(response.body, separators=(",", ":")).encode()
    headers = [("content-type", "application/json"), *_common_headers(), *response.headers]
    await send(
        {"type": "http.response.start", "status": response.status, "headers": _encode(headers)}
    )
    await send({"type": "http.response.body", "body": body})


async def relay_stream(send: Send, receive: Receive, response: StreamResponse) -> None:
    """Forward the run's frames as they come; stop early on disconnect or drop-after."""
    channel = response.channel
    watcher = asyncio.get_running_loop().create_task(_watch_disconnect(receive, channel))
    try:
        await send(
            {"type": "http.response.start", "status": 200, "headers": _encode(_stream_headers())}
        )
        if await _pump(send, channel, response.drop_after):
            await send({"type": "http.response.body", "body": response.done_frame})
    except OSError:
        pass  # the client went away mid-write; the run carries on without it
    finally:
        channel.detach()
        watcher.cancel()


async def _pump(send: Send, channel: EventChannel, drop_after: int | None) -> bool:
    """Relay frames; True if the run's part ended normally and ``done`` should follow."""
    deltas = 0
    while (frame := await channel.get()) is not END:
        if frame is GONE:
            return False
        is_delta = frame.event in DELTA_EVENTS
        if is_delta and drop_after == 0:
            return _abort()
        await send({"type": "http.response.body", "body": frame.payload, "more_body": True})
        deltas += is_delta
        if is_delta and deltas == drop_after:
            return _abort()
    return True


def _abort() -> bool:
    _ABORTED.set(True)
    return False


async def _watch_disconnect(receive: Receive, channel: EventChannel) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    channel.interrupt()


def _stream_headers() -> list[tuple[str, str]]:
    # nginx buffers proxied responses unless told otherwise, which would batch the tokens.
    return [
        ("content-type", "text/event-stream; charset=utf-8"),
        ("cache-control", "no-cache"),
        ("x-accel-buffering", "no"),
        *_common_headers(),
    ]


def _common_headers() -> list[tuple[str, str]]:
    return [("x-request-id", new_id("req")), ("openai-version", "2020-10-01")]


def _encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


class _DeliberateAbortFilter(logging.Filter):
    """Drop the server's "returned without completing response" record for our own aborts.

    The record is logged in the request's task right after the app returns, so the context
    variable set by `_pump` is still visible there.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_ABORTED.get() and record.getMessage() == _UNFINISHED)


_FILTER = _DeliberateAbortFilter()


def quiet_deliberate_aborts() -> None:
    logging.getLogger("uvicorn.error").addFilter(_FILTER)  # adding twice is a no-op
