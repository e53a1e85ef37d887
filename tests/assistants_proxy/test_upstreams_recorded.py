"""Real OpenAI streams (tests/fixtures/openai-recorded), served byte for byte from a local
server, through the adapters: the final text, usage and function calls each sidecar
expects, whatever the chunk sizes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from upstreams_client import RECORDED, collect, names, request, run_of, upstream_for

from assistants_proxy.usage import normalise_usage
from tests.servers import serve_asgi

Send = Callable[[dict[str, Any]], Awaitable[None]]


class Recorded:
    """A server answering each POST with the next recorded stream, cut into `chunk` bytes;
    it keeps the request bodies it received."""

    def __init__(self, *files: str, chunk: int) -> None:
        self.bodies = [(RECORDED / f"{name}.sse").read_bytes() for name in files]
        self.chunk = chunk
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.requests.append(json.loads(await _body(receive)))
        body = self.bodies[len(self.requests) - 1]
        headers = [(b"content-type", b"text/event-stream; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for start in range(0, len(body), self.chunk):
            piece = body[start : start + self.chunk]
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


async def _body(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def expected(name: str) -> dict[str, Any]:
    return json.loads((RECORDED / f"{name}.json").read_text())["expected"]


CASES = [
    ("chat_completions", "chat-completions-usage-short", 1),
    ("chat_completions", "chat-completions-usage-short", 4096),
    ("chat_completions", "chat-completions-usage", 7),
    ("chat_completions", "chat-completions-usage", 65536),
    ("responses", "responses-hello", 1),
    ("responses", "responses-hello", 4096),
]


@pytest.mark.parametrize(("protocol", "name", "chunk"), CASES)
async def test_a_recorded_reply_gives_the_expected_text_and_usage(
    protocol: str, name: str, chunk: int
) -> None:
    app = Recorded(name, chunk=chunk)
    with serve_asgi(app) as url:
        async with upstream_for(protocol, url + "/v1") as upstream:
            events, run = await collect(upstream.start_run(request("Hi")))

    want = expected(name)
    [text] = run.texts()
    if "final_text" in want:
        assert text == want["final_text"]
    else:  # the long one keeps only a digest in the README
        assert hashlib.sha256(text.encode()).hexdigest() == (
            "58aa50a51631dd6d3eeb5d7eb2cf1add240edc5d4d6645cb810d149fd54317ab"
        )
        assert len(text) == 3300
    assert normalise_usage(run.usage) == normalise_usage(want["usage"])
    assert run.run_status == "completed"
    assert names(events)[-3:] == ["thread.run.step.completed", "thread.run.completed", "done"]


async def test_the_recorded_model_name_replaces_the_requested_one() -> None:
    with serve_asgi(Recorded("responses-hello", chunk=4096)) as url:
        async with upstream_for("responses", url + "/v1") as upstream:
            _, run = await collect(upstream.start_run(request("Hi", model="gpt-4o-mini")))

    assert run.run is not None and run_of(run)["model"] == "gpt-4o-mini-2024-07-18"
    assert run_of(run)["metadata"]["response_id"].startswith("resp_0976c6df")


@pytest.mark.parametrize("chunk", [1, 4096])
async def test_a_recorded_function_call_then_its_continuation(chunk: int) -> None:
    app = Recorded("responses-function-call", "responses-hello", chunk=chunk)
    with serve_asgi(app) as url:
        async with upstream_for("responses", url + "/v1") as upstream:
            events, run = await collect(upstream.start_run(request("What should I wear?")))
            [want] = expected("responses-function-call")["function_calls"]
            [call] = run_of(run)["required_action"]["submit_tool_outputs"]["tool_calls"]
            assert call["id"] == want["id"]
            assert call["function"] == {"name": want["name"], "arguments": want["arguments"]}
            assert names(events).count("thread.run.step.delta") == 1 + 8
            outputs = [{"tool_call_id": call["id"], "output": "foggy"}]
            await collect(
                upstream.submit_tool_outputs(
                    thread_id=run_of(run)["thread_id"],
                    run_id=run_of(run)["id"],
                    tool_outputs=outputs,
                )
            )

    # The usage of the call's request is the tool step's, reported when it completes.
    first_request, continuation = app.requests
    assert first_request["stream"] is True and first_request["tools"][0]["name"] == "get_weather"
    assert continuation["input"][-2:] == [
        {
            "type": "function_call",
            "call_id": want["id"],
            "name": want["name"],
            "arguments": want["arguments"],
        },
        {"type": "function_call_output", "call_id": want["id"], "output": "foggy"},
    ]
    assert "previous_response_id" not in continuation  # the whole input, no server state


async def test_the_chat_request_asks_for_usage_and_sends_the_history() -> None:
    app = Recorded("chat-completions-usage-short", chunk=4096)
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    with serve_asgi(app) as url:
        async with upstream_for("chat_completions", url + "/v1") as upstream:
            await collect(
                upstream.start_run(request("Rob a bank?", history=history, instructions="Be kind."))
            )

    [sent] = app.requests
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["messages"] == [
        {"role": "system", "content": "Be kind."},
        *history,
        {"role": "user", "content": "Rob a bank?"},
    ]
    assert sent["tools"][0] == {"type": "function", "function": sent["tools"][0]["function"]}
