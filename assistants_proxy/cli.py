"""`python -m assistants_proxy`: serve the simulator, replay a capture, stream from a server.

Every command ends with one JSON summary line (`replay`, `stream`); bad input (a missing file,
a file that is not SSE, a refused connection) gets one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from assistants_proxy.accumulator import RunAccumulator
from assistants_proxy.errors import AssistantsError
from assistants_proxy.events import StreamEvent, parse_event
from assistants_proxy.seed_tools import GET_WEATHER
from assistants_proxy.sse import read_capture
from assistants_proxy.upstreams import PROTOCOLS, RunRequest, make_upstream

EXIT_BAD_INPUT = 2


class CLIError(Exception):
    """A problem with the user's input, reported as one line and exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CLIError, AssistantsError, httpx.HTTPError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m assistants_proxy")
    sub = parser.add_subparsers(required=True, dest="command")
    sim = sub.add_parser("simulate", help="serve the simulator upstream")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8765)
    sim.add_argument("--rate", type=float, default=None, help="tokens per second")
    sim.set_defaults(func=_simulate)
    replay = sub.add_parser("replay", help="decode a captured stream and summarise it")
    replay.add_argument("file", type=Path)
    replay.set_defaults(func=_replay)
    stream = sub.add_parser("stream", help="send a message and print the reply as it streams")
    stream.add_argument("message")
    stream.add_argument("--base-url", required=True)
    stream.add_argument("--protocol", default="assistants", choices=list(PROTOCOLS))
    stream.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY"))
    stream.add_argument("--assistant-id", default=None)
    stream.add_argument("--model", default="gpt-4o")
    stream.set_defaults(func=_stream)
    return parser


def _simulate(args: argparse.Namespace) -> int:
    from assistants_proxy.simulator import serve

    options: dict[str, Any] = {} if args.rate is None else {"rate": args.rate}
    serve(host=args.host, port=args.port, **options)
    return 0


def _replay(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        raise CLIError(f"{path}: no such file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CLIError(f"{path}: not a text file, so not an SSE capture") from None
    sses = read_capture(text)
    if not sses:
        raise CLIError(f"{path}: no server-sent events found")
    accumulator = RunAccumulator()
    for sse in sses:
        event = parse_event(sse.event, sse.data)
        accumulator.feed(event)
        print(describe(event))
    print(json.dumps(accumulator.summary(), ensure_ascii=False))
    return 0


def describe(event: StreamEvent) -> str:
    """One line for one event: its name and what matters about it."""
    data = event.data
    if event.name == "thread.message.delta":
        parts = (data.get("delta") or {}).get("content") or []
        text = "".join(((p.get("text") or {}).get("value") or "") for p in parts)
        return f"{event.name} {json.dumps(text, ensure_ascii=False)}"
    details = [str(data[k]) for k in ("id", "status") if isinstance(data.get(k), str)]
    return " ".join([event.name, *details])


def _stream(args: argparse.Namespace) -> int:
    return asyncio.run(_stream_async(args))


async def _stream_async(args: argparse.Namespace) -> int:
    """One run on any protocol. A run that asks for a tool ends there, with run_status
    "requires_action": this command runs no tools."""
    async with httpx.AsyncClient() as http:
        upstream = make_upstream(args.protocol, http, base_url=args.base_url, api_key=args.api_key)
        request = RunRequest(
            model=args.model,
            messages=[{"role": "user", "content": args.message}],
            # Assistants runs use the assistant's own tools; the stateless protocols only call
            # functions the request offers.
            tools=[] if args.protocol == "assistants" else [GET_WEATHER],
            assistant_id=await _assistant_id(args, http),
        )
        accumulator = RunAccumulator()
        async with upstream.start_run(request) as events:
            async for event in events:
                accumulator.feed(event)
                _print_delta(event)
    print()
    print(json.dumps(accumulator.summary(), ensure_ascii=False))
    return 0


async def _assistant_id(args: argparse.Namespace, http: httpx.AsyncClient) -> str | None:
    """Assistants servers need an assistant: the one given, or a new one."""
    if args.protocol != "assistants":
        return None
    if args.assistant_id:
        return str(args.assistant_id)
    from assistants_proxy.client import AssistantsClient

    client = AssistantsClient(http, base_url=args.base_url, api_key=args.api_key)
    return str((await client.create_assistant(model=args.model))["id"])


def _print_delta(event: StreamEvent) -> None:
    if event.name != "thread.message.delta":
        return
    for part in (event.data.get("delta") or {}).get("content") or []:
        sys.stdout.write((part.get("text") or {}).get("value") or "")
    sys.stdout.flush()
