"""Talking to the real model server directly, as the app's Chat Completions adapter does.

The app's requests are the reference these tests compare with: a streamed
``POST /v1/chat/completions`` with the system message (the assistant's instructions), the
history, ``stream_options.include_usage``, the assistant's temperature and ``max_tokens``.
`stream_chat` makes that request by hand and keeps the timings of its chunks.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

Message = dict[str, Any]


@dataclass(frozen=True)
class RealModel:
    base_url: str  # ending in /v1, as make_upstream and the openai SDK want it
    models: list[str]  # what /v1/models lists (any name is answered by the one model)
    log: Path  # the server's output, with llama.cpp's timings for each request

    @property
    def model(self) -> str:
        return self.models[0]

    @property
    def root(self) -> str:
        """The server's address without /v1, where its /extras endpoints are."""
        return self.base_url.removesuffix("/v1")

    async def clear_prompt_cache(self, http: httpx.AsyncClient) -> None:
        """Make the next request evaluate its whole prompt afresh.

        The server keeps the last request's tokens and evaluates only what follows their
        common prefix; the logits then differ slightly from a full evaluation, enough to
        change a greedy (temperature 0) reply. A plain completion whose prompt shares no first
        token with a chat prompt (those start with <|im_start|>) replaces that prefix, so two
        requests each made after this one generate the same text.
        """
        body = {"prompt": "Reset.", "max_tokens": 1, "temperature": 0}
        response = await http.post(f"{self.base_url}/completions", json=body)
        response.raise_for_status()


@dataclass
class Generation:
    """One streamed reply as the server sent it, with when each content chunk arrived."""

    text: str = ""
    finish_reason: str | None = None
    started: float = 0.0  # time.monotonic() when the request was sent
    chunk_times: list[float] = field(default_factory=list)  # one per chunk with content

    @property
    def first_chunk_latency(self) -> float:
        return self.chunk_times[0] - self.started

    @property
    def chunks_per_second(self) -> float:
        """The pace of the stream once it has begun: chunks after the first over their time."""
        span = self.chunk_times[-1] - self.chunk_times[0]
        return (len(self.chunk_times) - 1) / span if span > 0 else float("nan")


def chat_body(
    model: RealModel, messages: list[Message], *, max_tokens: int, **fields: Any
) -> dict[str, Any]:
    """The body the app's adapter sends (`assistants_proxy/upstreams/chat.py`)."""
    return {
        "model": model.model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0,
        "max_tokens": max_tokens,
        **fields,
    }


async def stream_chat(
    http: httpx.AsyncClient,
    model: RealModel,
    messages: list[Message],
    *,
    max_tokens: int,
    **fields: Any,
) -> Generation:
    body = chat_body(model, messages, max_tokens=max_tokens, **fields)
    generation = Generation(started=time.monotonic())
    async with http.stream("POST", f"{model.base_url}/chat/completions", json=body) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            data = line.removeprefix("data:").strip()
            if not line.startswith("data:") or data == "[DONE]":
                continue
            for choice in json.loads(data)["choices"]:
                content = choice["delta"].get("content") or ""
                if content:
                    generation.chunk_times.append(time.monotonic())
                    generation.text += content
                generation.finish_reason = choice["finish_reason"] or generation.finish_reason
    return generation


async def prompt_tokens(http: httpx.AsyncClient, model: RealModel, messages: list[Message]) -> int:
    """The server's own count of a prompt, chat template included: a non-streamed request's
    `usage.prompt_tokens` (one token generated, so it costs the prompt's evaluation)."""
    body = {"model": model.model, "messages": messages, "max_tokens": 1, "temperature": 0}
    response = await http.post(f"{model.base_url}/chat/completions", json=body)
    response.raise_for_status()
    return int(response.json()["usage"]["prompt_tokens"])


async def text_tokens(http: httpx.AsyncClient, model: RealModel, text: str) -> int:
    """The tokens of raw text, without any template (`/extras/tokenize/count`)."""
    if not text:
        return 0
    response = await http.post(f"{model.root}/extras/tokenize/count", json={"input": text})
    response.raise_for_status()
    return int(response.json()["count"])


async def exact_prompt_tokens(
    http: httpx.AsyncClient, model: RealModel, messages: list[Message]
) -> int:
    """The server's count of a prompt of any length, without evaluating it.

    A prompt over the context window cannot be sent, and a long one takes seconds to
    evaluate on a busy machine. The count is the tokens of each message's text plus the chat
    template's, and the template's are what `prompt_tokens` counts for the same messages
    with one-token texts: ChatML puts special tokens around each text, so the two add up
    exactly (`test_estimates` checks it against `prompt_tokens` on whole prompts).
    """
    texts = [str(m.get("content") or "") for m in messages]
    tiny = [dict(m, content="x" if text else "") for m, text in zip(messages, texts, strict=True)]
    template = await prompt_tokens(http, model, tiny) - sum(1 for text in texts if text)
    return template + sum([await text_tokens(http, model, text) for text in texts])
