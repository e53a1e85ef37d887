"""An Assistants upstream that answers every run with a recorded stream, byte for byte."""

from __future__ import annotations

import json
from typing import Any

Send = Any


def replay_app(stream: bytes, *, chunk_size: int = 7) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        if scope["path"].endswith("/assistants"):
            await _json(send, {"id": "asst_replay", "object": "assistant"})
        else:
            await _stream(send, stream, chunk_size)

    return app


async def _json(send: Send, body: dict[str, Any]) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


async def _stream(send: Send, stream: bytes, chunk_size: int) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream")]})  # fmt: skip
    for start in range(0, len(stream), chunk_size):
        chunk = stream[start : start + chunk_size]
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
