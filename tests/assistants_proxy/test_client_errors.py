"""The client's errors: one family, and which of them are worth a retry."""

from __future__ import annotations

import pytest

from assistants_proxy.errors import (
    AssistantsError,
    HTTPStatusError,
    MalformedEventError,
    ProtocolError,
    StallError,
    TransportError,
)


def test_every_error_is_an_assistants_error() -> None:
    for error in (
        TransportError("x"),
        StallError("x"),
        HTTPStatusError(503, {}),
        ProtocolError("x"),
        MalformedEventError("x"),
    ):
        assert isinstance(error, AssistantsError)
    assert HTTPStatusError(503, {}).retryable and HTTPStatusError(429, {}, retry_after=1).retryable
    assert not HTTPStatusError(404, {}).retryable and not HTTPStatusError(401, {}).retryable


@pytest.mark.parametrize("status", [400, 404, 408, 409, 422, 429])
def test_a_4xx_is_never_retried_unless_the_server_says_when_to_come_back(status: int) -> None:
    # A 4xx says the request is wrong: sent again, it fails again. A 429 without Retry-After
    # gives no reason to think the next try fares better.
    assert not HTTPStatusError(status, {}).retryable


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "This model's maximum context length is 8192 tokens."}},
        {"error": {"code": "context_length_exceeded", "message": "too long"}},
        {"detail": "Requested tokens (2100) exceed context window of 2048"},
        "prompt is too long: 210000 tokens > 200000 maximum",
    ],
)
def test_a_context_overflow_is_recognised_in_the_ways_servers_phrase_it(body: object) -> None:
    assert HTTPStatusError(400, body).is_context_overflow
    assert not HTTPStatusError(
        400, {"error": {"message": "invalid tool schema"}}
    ).is_context_overflow
