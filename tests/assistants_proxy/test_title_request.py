"""Asking an upstream for a conversation's title: one non-streamed request per protocol that
has a cheap one, over real HTTP to a small recorded-answer server; the answer cleaned."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from assistants_proxy.client import AssistantsClient
from assistants_proxy.errors import HTTPStatusError
from assistants_proxy.titles import MAX_TITLE_CHARS, ask_title, clean_title
from tests.servers import serve_asgi

CHAT_ANSWER = {"choices": [{"message": {"role": "assistant", "content": '"Rivers of Europe"'}}]}
RESPONSES_ANSWER = {
    "output": [
        {"type": "reasoning", "summary": []},
        {"type": "message", "content": [{"type": "output_text", "text": "## Rivers of Europe."}]},
    ]
}


def answering(answer: dict[str, Any], seen: list[dict[str, Any]], status: int = 200) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.append({"path": scope["path"], "body": json.loads(body)})
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})

    return app


async def ask(url: str, protocol: str) -> str | None:
    async with httpx.AsyncClient() as http:
        client = AssistantsClient(http, base_url=url + "/v1", max_retries=0)
        return await ask_title(
            client, protocol=protocol, model="m", message="Tell me about rivers", reply="Rivers…"
        )


@pytest.mark.parametrize(
    ("protocol", "answer", "path"),
    [
        ("chat_completions", CHAT_ANSWER, "/v1/chat/completions"),
        ("responses", RESPONSES_ANSWER, "/v1/responses"),
    ],
)
async def test_one_non_streamed_request_gives_a_clean_title(
    protocol: str, answer: dict[str, Any], path: str
) -> None:
    seen: list[dict[str, Any]] = []
    with serve_asgi(answering(answer, seen)) as url:
        assert await ask(url, protocol) == "Rivers of Europe"
    [request] = seen
    assert request["path"] == path
    assert request["body"]["stream"] is False
    assert "Tell me about rivers" in json.dumps(request["body"])


async def test_an_assistants_upstream_is_not_asked() -> None:
    seen: list[dict[str, Any]] = []
    with serve_asgi(answering(CHAT_ANSWER, seen)) as url:
        assert await ask(url, "assistants") is None
    assert seen == []


async def test_an_upstream_error_is_raised_for_the_caller_to_fall_back() -> None:
    failing = answering({"error": {"message": "down"}}, [], status=500)
    with serve_asgi(failing) as url, pytest.raises(HTTPStatusError):
        await ask(url, "chat_completions")


def test_a_title_is_one_clean_line_of_bounded_length() -> None:
    assert clean_title("\n  **Rivers** and `lakes`:\nmore") == "Rivers and lakes"
    assert clean_title("   \n\n") is None
    long = clean_title("word " * 40)
    assert long is not None and len(long) == MAX_TITLE_CHARS and long.endswith("…")
