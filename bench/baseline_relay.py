"""The baseline relay: a raw httpx SSE read forwarded to a raw `websockets` send, no Django.

    python -m bench.baseline_relay --port 9000 --upstream http://127.0.0.1:8765/v1

A client connects and, for each run, sends one text frame (the user message) and receives one
frame per upstream event, `{"event": ..., "data": <the upstream's JSON, as it came>}`, until
the run ends; then it may start the next run on the same connection. This is the least a
relay can do; the relay benchmark measures the app against it.
"""

from __future__ import annotations

import argparse
import asyncio

import httpx
import websockets
from httpx_sse import aconnect_sse

ASSISTANT_ID = "asst_simulator000000000000000"


async def relay(
    socket: websockets.ServerConnection, http: httpx.AsyncClient, upstream: str
) -> None:
    async for content in socket:
        await relay_run(socket, http, upstream, str(content))


async def relay_run(
    socket: websockets.ServerConnection, http: httpx.AsyncClient, upstream: str, content: str
) -> None:
    body = {
        "assistant_id": ASSISTANT_ID,
        "stream": True,
        "thread": {"messages": [{"role": "user", "content": content}]},
    }
    async with aconnect_sse(http, "POST", upstream + "/threads/runs", json=body) as source:
        async for sse in source.aiter_sse():
            if sse.event == "done":
                break
            await socket.send('{"event":"%s","data":%s}' % (sse.event, sse.data))  # noqa: UP031


async def main(port: int, upstream: str) -> None:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=1000)
    async with httpx.AsyncClient(timeout=httpx.Timeout(120.0), limits=limits) as http:

        async def handler(socket: websockets.ServerConnection) -> None:
            await relay(socket, http, upstream)

        async with websockets.serve(handler, "127.0.0.1", port, compression=None, max_size=None):
            await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.upstream))
