"""Every upstream adapter against the simulator: failed runs, HTTP errors, retries and
malformed events, the same whatever the wire."""

from __future__ import annotations

import pytest
from simulator_client import no_server_errors  # noqa: F401
from upstreams_client import collect, names, request, run_of, upstream_for
from upstreams_params import parametrize_protocols, parametrize_stateless, unique

from assistants_proxy.errors import HTTPStatusError
from assistants_proxy.usage import normalise_usage

pytestmark = pytest.mark.usefixtures("no_server_errors")


@parametrize_stateless
@pytest.mark.parametrize("fault", ["error-event=4", "fail=4"])
async def test_an_upstream_error_mid_stream_fails_the_run(
    protocol: str, fault: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        events, run = await collect(upstream.start_run(request(f"/sim {fault} Hello")))

    assert names(events)[-5:] == [
        "thread.message.delta",
        "thread.message.incomplete",
        "thread.run.step.failed",
        "thread.run.failed",
        "done",
    ]
    assert run.run is not None and run_of(run)["last_error"]["code"] == "server_error"
    assert (
        "simulated" in run_of(run)["last_error"]["message"]
        or "wrong" in run_of(run)["last_error"]["message"]
    )
    assert run.texts() == ["Hello! How can"]
    assert run.messages[0]["incomplete_details"] == {"reason": "run_failed"}
    usage = normalise_usage(run.usage)
    assert usage is not None and usage["estimated"]


@parametrize_stateless
async def test_a_reply_cut_by_max_tokens_is_an_incomplete_run(
    protocol: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        events, run = await collect(upstream.start_run(request("Hello", max_tokens=3)))

    assert names(events)[-2:] == ["thread.run.incomplete", "done"]
    assert run.run is not None
    assert run_of(run)["incomplete_details"] == {"reason": "max_completion_tokens"}
    assert run.texts() == ["Hello! How"]
    assert run.messages[0]["status"] == "incomplete"
    assert run.messages[0]["incomplete_details"] == {"reason": "max_tokens"}
    usage = normalise_usage(run.usage)
    assert usage is not None and usage["completion_tokens"] == 3


@parametrize_protocols
@pytest.mark.parametrize("status", [429, 503])
async def test_an_http_error_is_an_http_status_error(
    protocol: str, status: int, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        with pytest.raises(HTTPStatusError) as caught:
            await collect(upstream.start_run(request(unique(f"/sim status={status} Hello"))))

    assert caught.value.status_code == status and caught.value.retryable
    assert caught.value.retry_after == 1.0


@parametrize_protocols
async def test_a_retryable_error_is_retried_before_the_first_event(
    protocol: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url, max_retries=2) as upstream:
        # Retry-After: 1 makes this test take a second per protocol; worth it once.
        _, run = await collect(upstream.start_run(request(unique("/sim status=500 times=1 Hi"))))

    assert run.run_status == "completed"


@parametrize_protocols
async def test_a_malformed_event_is_skipped_and_the_reply_completes(
    protocol: str, simulator_url: str
) -> None:
    async with upstream_for(protocol, simulator_url) as upstream:
        stream = upstream.start_run(request("/sim malformed=2 Hello"))
        _, run = await collect(stream)

    assert getattr(stream, "skipped_events", None) == 1
    assert run.run_status == "completed"
    assert run.texts() == ["Hello! How can I assist you today?"]
