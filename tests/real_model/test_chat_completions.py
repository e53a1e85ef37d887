"""The Chat Completions adapter against a real model server (see conftest.py)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from assistants_proxy.accumulator import RunAccumulator
from assistants_proxy.upstreams import RunRequest, make_upstream
from tests.real_model.modelserver import RealModel

pytestmark = pytest.mark.real_model

# SmolLM2 answers this in ~30 tokens, ending on its own (finish_reason "stop"); the bound is
# for another build that rambles, whose reply the test compares all the same.
QUESTION = "What is the capital of France?"
MAX_TOKENS = 64


async def generate_directly(
    http: httpx.AsyncClient, real_model: RealModel, messages: list[dict[str, Any]]
) -> tuple[str, str | None]:
    """The streamed text and finish reason of the request the adapter sends, made by hand."""
    body = {
        "model": real_model.model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0,
        "max_tokens": MAX_TOKENS,
    }
    text, finish_reason = "", None
    async with http.stream("POST", f"{real_model.base_url}/chat/completions", json=body) as r:
        assert r.status_code == 200
        async for line in r.aiter_lines():
            data = line.removeprefix("data:").strip()
            if not line.startswith("data:") or data == "[DONE]":
                continue
            for choice in json.loads(data)["choices"]:
                text += choice["delta"].get("content") or ""
                finish_reason = choice["finish_reason"] or finish_reason
    return text, finish_reason


async def test_the_adapter_streams_exactly_what_the_server_generates(
    real_model: RealModel,
) -> None:
    messages = [{"role": "user", "content": QUESTION}]
    async with httpx.AsyncClient(timeout=60.0) as http:
        # Greedy decoding repeats itself only from the same starting state: see the helper.
        await real_model.clear_prompt_cache(http)
        expected, finish_reason = await generate_directly(http, real_model, messages)
        await real_model.clear_prompt_cache(http)

        upstream = make_upstream("chat_completions", http, base_url=real_model.base_url)
        request = RunRequest(
            model=real_model.model, messages=messages, temperature=0, max_tokens=MAX_TOKENS
        )
        run = RunAccumulator()
        async with upstream.start_run(request) as events:
            async for event in events:
                run.feed(event)

    assert expected.strip(), "the model said nothing"
    assert finish_reason in ("stop", "length")
    assert run.texts() == [expected]
    assert run.run_status == ("completed" if finish_reason == "stop" else "incomplete")
