"""aiter_sse decodes a live response as its bytes arrive, and only an event stream."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sse_pairs import Pairs, to_standard_sse

from assistants_proxy.errors import ProtocolError
from assistants_proxy.sse import aiter_sse

# -- live responses --------------------------------------------------------------------------


def _client_for(chunks: list[bytes], content_type: str) -> httpx.AsyncClient:
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": content_type}, content=body())

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_aiter_sse_decodes_a_response_as_its_bytes_arrive(seed_pairs: Pairs) -> None:
    data = to_standard_sse(seed_pairs, "\r\n")
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]

    async with (
        _client_for(chunks, "text/event-stream; charset=utf-8") as http,
        http.stream("POST", "http://upstream.test/v1/threads/runs") as response,
    ):
        pairs = [(e.event, e.data) async for e in aiter_sse(response)]

    assert pairs == seed_pairs


async def test_aiter_sse_accepts_the_content_type_in_any_case() -> None:
    async with (
        _client_for([b"data: 1\n\n"], "Text/Event-Stream") as http,
        http.stream("GET", "http://upstream.test/") as response,
    ):
        assert [e.data async for e in aiter_sse(response)] == ["1"]


async def test_aiter_sse_refuses_a_response_that_is_not_an_event_stream() -> None:
    async with (
        _client_for([b'{"error": {"message": "nope"}}'], "application/json") as http,
        http.stream("GET", "http://upstream.test/") as response,
    ):
        with pytest.raises(ProtocolError, match="application/json"):
            [e async for e in aiter_sse(response)]
