"""The client against a real simulator over HTTP, and small local servers for what it can't do."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistants_proxy.accumulator import RunAccumulator, message_text
from assistants_proxy.client import MAX_RETRY_AFTER, AssistantsClient, EventStream
from assistants_proxy.errors import (
    AssistantsError,
    HTTPStatusError,
    MalformedEventError,
    ProtocolError,
    StallError,
    TransportError,
)
from assistants_proxy.events import StreamEvent
from assistants_proxy.simulator import DEFAULT_ASSISTANT_ID
from assistants_proxy.sse import read_capture
from tests.servers import free_port, serve_asgi

SEED = Path(__file__).resolve().parent.parent / "fixtures" / "seed-capture.txt"
SEED_TEXT = "Hello! How can I assist you today?"


class Upstream:
    """One upstream as a client sees it: every request and response, and every backoff."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.requests: list[httpx.Request] = []
        self.responses: list[httpx.Response] = []
        self.sleeps: list[float] = []

    async def _record_request(self, request: httpx.Request) -> None:
        self.requests.append(request)

    async def _record_response(self, response: httpx.Response) -> None:
        self.responses.append(response)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    @asynccontextmanager
    async def client(self, **options: Any) -> AsyncIterator[AssistantsClient]:
        hooks: dict[str, list[Callable[..., Any]]] = {
            "request": [self._record_request],
            "response": [self._record_response],
        }
        options.setdefault("sleep", self.sleep)
        async with httpx.AsyncClient(event_hooks=hooks) as http:
            yield AssistantsClient(http, base_url=self.base_url, api_key="sk-test", **options)

    @property
    def statuses(self) -> list[int]:
        return [r.status_code for r in self.responses]


@pytest.fixture
def upstream(simulator_url: str) -> Upstream:
    return Upstream(simulator_url)


def thread_run(text: str) -> dict[str, Any]:
    return {
        "assistant_id": DEFAULT_ASSISTANT_ID,
        "thread": {"messages": [{"role": "user", "content": text}]},
    }


def unique(text: str) -> str:
    """The simulator's `times=K` counts attempts per message text: keep each test's own (no
    longer a greeting, so the reply is the simulator's Markdown one)."""
    return f"{text} ({uuid.uuid4().hex[:8]})"


async def collect(
    stream: EventStream, accumulator: RunAccumulator | None = None
) -> tuple[list[StreamEvent], RunAccumulator]:
    accumulator = accumulator or RunAccumulator()
    events = []
    async with stream as opened:
        async for event in opened:
            events.append(event)
            accumulator.feed(event)
    return events, accumulator


def names(events: list[StreamEvent]) -> list[str]:
    return [e.name for e in events]


# -- streaming runs --------------------------------------------------------------------------


async def test_it_streams_a_greeting_to_the_seeds_reply(upstream: Upstream) -> None:
    seed_names = [e.event for e in read_capture(SEED.read_text("utf-8"))]

    async with upstream.client() as client:
        events, run = await collect(client.stream_thread_and_run(**thread_run("Hello")))

    assert names(events) == seed_names
    assert run.texts() == [SEED_TEXT]
    assert run.run_status == "completed"
    assert run.usage is not None and run.usage["completion_tokens"] == 9
    assert run.usage["total_tokens"] == run.usage["prompt_tokens"] + 9
    assert run.done
    (request,) = upstream.requests
    assert request.url.path.endswith("/threads/runs")
    assert request.headers["OpenAI-Beta"] == "assistants=v2"
    assert request.headers["Accept"] == "text/event-stream"
    assert request.headers["Authorization"] == "Bearer sk-test"
    assert json.loads(request.content)["stream"] is True
    assert upstream.sleeps == []


async def test_a_weather_question_pauses_for_tool_outputs_and_then_continues(
    upstream: Upstream,
) -> None:
    async with upstream.client() as client:
        first, run = await collect(
            client.stream_thread_and_run(**thread_run("What's the weather in Paris?"))
        )
        assert names(first)[-2:] == ["thread.run.requires_action", "done"]
        assert run.run is not None and run.run_status == "requires_action"
        (call,) = run.run["required_action"]["submit_tool_outputs"]["tool_calls"]
        assert call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"]) == {"location": "Paris", "unit": "c"}
        (step,) = run.steps
        (streamed_call,) = step["step_details"]["tool_calls"]
        assert streamed_call["id"] == call["id"]
        assert streamed_call["function"]["arguments"] == call["function"]["arguments"]

        outputs = [{"tool_call_id": call["id"], "output": "22 C and sunny"}]
        stream = client.stream_submit_tool_outputs(run.run["thread_id"], run.run["id"], outputs)
        second, run = await collect(stream, run)

    assert names(second)[0] == "thread.run.step.completed"
    assert names(second)[-2:] == ["thread.run.completed", "done"]
    assert run.run_status == "completed"
    assert "22 C and sunny" in run.texts()[0]
    tool_step = run.steps[0]
    assert tool_step["step_details"]["tool_calls"][0]["function"]["output"] == "22 C and sunny"
    assert json.loads(upstream.requests[-1].content) == {"tool_outputs": outputs, "stream": True}


async def test_it_cancels_a_run_mid_stream(upstream: Upstream) -> None:
    deltas: list[str] = []
    seen: list[str] = []
    cancelled: dict[str, Any] = {}
    run = RunAccumulator()
    text = "/sim rate=40 tokens=400 Tell me about rivers"

    async with upstream.client() as client:
        async with client.stream_thread_and_run(**thread_run(text)) as events:
            async for event in events:
                run.feed(event)
                seen.append(event.name)
                if event.name == "thread.message.delta":
                    deltas.append(event.data["delta"]["content"][0]["text"]["value"])
                if len(deltas) == 3 and not cancelled and run.run is not None:
                    thread_id, run_id = run.run["thread_id"], run.run["id"]
                    cancelled = await client.cancel_run(thread_id, run_id)
        stored = await client.retrieve_run(thread_id, run_id)

    assert cancelled["status"] == "cancelling"
    tail = [name for name in seen if name != "thread.message.delta"]
    assert tail[-5:] == [
        "thread.run.cancelling",
        "thread.message.incomplete",
        "thread.run.step.cancelled",
        "thread.run.cancelled",
        "done",
    ]
    assert run.run_status == "cancelled" and stored["status"] == "cancelled"
    assert 3 <= len(deltas) < 400
    (message,) = run.messages
    assert message["status"] == "incomplete"
    assert message_text(message) == "".join(deltas)


async def test_the_json_endpoints_round_trip(upstream: Upstream) -> None:
    async with upstream.client() as client:
        assistant = await client.create_assistant(model="gpt-4o", name="Tester")
        assert (await client.retrieve_assistant(assistant["id"]))["name"] == "Tester"
        thread = await client.create_thread(messages=[{"role": "user", "content": "Hello"}])
        assert (await client.retrieve_thread(thread["id"]))["id"] == thread["id"]
        _, run = await collect(client.stream_run(thread["id"], assistant_id=assistant["id"]))
        assert run.run is not None
        stored = await client.retrieve_run(thread["id"], run.run["id"])
        messages = await client.list_messages(thread["id"], order="asc")
        added = await client.create_message(thread["id"], role="user", content="Thanks")
        deleted = await client.delete_thread(thread["id"])

    assert assistant["id"].startswith("asst_")
    assert stored["status"] == "completed"
    assert [m["role"] for m in messages["data"]] == ["user", "assistant"]
    assert message_text(messages["data"][1]) == SEED_TEXT
    assert added["role"] == "user"
    assert deleted["deleted"] is True


# -- retries, before the first event only ----------------------------------------------------


async def test_a_429_is_retried_after_the_retry_after_delay(upstream: Upstream) -> None:
    text = unique("/sim status=429 times=1 Hello")

    async with upstream.client() as client:
        _, run = await collect(client.stream_thread_and_run(**thread_run(text)))

    assert upstream.statuses == [429, 200]
    assert upstream.sleeps == [1.0]
    assert run.run_status == "completed" and run.texts()[0]


async def test_retry_after_is_honoured_for_real(upstream: Upstream) -> None:
    text = unique("/sim status=503 times=1 Hello")

    started = time.monotonic()
    async with upstream.client(sleep=asyncio.sleep) as client:
        _, run = await collect(client.stream_thread_and_run(**thread_run(text)))

    assert time.monotonic() - started >= 1.0
    assert upstream.statuses == [503, 200]
    assert run.run_status == "completed" and run.texts()[0]


async def test_retries_give_up_with_the_last_status_and_error_body(upstream: Upstream) -> None:
    text = unique("/sim status=500 times=10 Hello")

    async with upstream.client(max_retries=2) as client:
        with pytest.raises(HTTPStatusError) as caught:
            await collect(client.stream_thread_and_run(**thread_run(text)))

    error = caught.value
    assert error.status_code == 500
    assert error.retryable
    assert isinstance(error.body, dict) and error.body["error"]["message"]
    assert error.error_message == error.body["error"]["message"]
    assert error.error_message in str(error)
    assert error.retry_after == 1.0
    assert upstream.statuses == [500, 500, 500]
    assert upstream.sleeps == [1.0, 1.0]
    assert all(r.is_closed for r in upstream.responses)


async def test_a_bad_request_is_not_retried(upstream: Upstream) -> None:
    async with upstream.client() as client:
        with pytest.raises(HTTPStatusError) as caught:
            await collect(client.stream_thread_and_run(**thread_run("/sim stmap Hello")))

    assert caught.value.status_code == 400
    assert not caught.value.retryable
    assert caught.value.body["error"]["code"] == "invalid_directive"
    assert "stmap" in caught.value.error_message
    assert upstream.statuses == [400]
    assert upstream.sleeps == []


async def test_a_stream_dropped_after_its_first_events_is_not_retried(upstream: Upstream) -> None:
    received: list[StreamEvent] = []

    async with upstream.client() as client:
        stream = client.stream_thread_and_run(**thread_run(unique("/sim drop-after=5 Hello")))
        with pytest.raises(TransportError, match="broke") as caught:
            async with stream as events:
                async for event in events:
                    received.append(event)

    assert caught.value.retryable  # worth a retry to the caller, but not by replaying text
    assert names(received).count("thread.message.delta") == 5
    assert stream.events_received == len(received)
    assert len(upstream.requests) == 1
    assert upstream.sleeps == []
    assert upstream.responses[0].is_closed


async def test_a_refused_connection_is_retried_with_backoff_then_raised() -> None:
    upstream = Upstream(f"http://127.0.0.1:{free_port()}/v1")

    async with upstream.client(max_retries=2, backoff=0.5) as client:
        with pytest.raises(TransportError, match="unreachable"):
            await client.create_thread()

    assert len(upstream.requests) == 3
    assert len(upstream.sleeps) == 2
    assert 0 <= upstream.sleeps[0] <= 0.5 and 0 <= upstream.sleeps[1] <= 1.0


# -- what a stream can do wrong --------------------------------------------------------------


async def test_a_malformed_event_is_skipped_and_counted_and_the_reply_goes_on(
    upstream: Upstream,
) -> None:
    # One cut-off event amid the deltas carries no text: a tolerant client ends with the
    # whole message.
    async with upstream.client() as client:
        stream = client.stream_thread_and_run(**thread_run("/sim malformed=2 Hello"))
        received, run = await collect(stream)

    assert stream.skipped_events == 1
    assert run.run_status == "completed"
    assert run.texts() == ["Hello! How can I assist you today?"]
    assert names(received).count("thread.message.delta") == 9


async def test_a_stall_longer_than_the_stall_timeout_raises(upstream: Upstream) -> None:
    received: list[StreamEvent] = []

    started = time.monotonic()
    async with upstream.client(stall_timeout=0.3) as client:
        with pytest.raises(StallError):
            async with client.stream_thread_and_run(**thread_run("/sim stall=5 Hello")) as s:
                async for event in s:
                    received.append(event)

    assert time.monotonic() - started < 4
    assert 0 < names(received).count("thread.message.delta") < 9
    assert len(upstream.requests) == 1
    assert upstream.responses[0].is_closed


async def test_the_response_is_closed_when_the_callers_own_code_raises(
    upstream: Upstream,
) -> None:
    async with upstream.client() as client:
        with pytest.raises(LookupError):
            async with client.stream_thread_and_run(**thread_run("Hello")) as events:
                async for event in events:
                    if event.name == "thread.message.delta":
                        raise LookupError("the caller gave up")

    (response,) = upstream.responses
    assert response.is_closed


async def test_iterating_before_opening_the_stream_is_a_mistake(upstream: Upstream) -> None:
    async with upstream.client() as client:
        stream = client.stream_thread_and_run(**thread_run("Hello"))
        with pytest.raises(RuntimeError, match="async with"):
            async for _ in stream:
                pass

    assert upstream.requests == []


# -- what the simulator never does: a few local servers --------------------------------------


Send = Callable[[dict[str, Any]], Awaitable[None]]


def asgi_app(answer: Callable[[int, Send], Awaitable[None]]) -> Any:
    """An ASGI app that hands each request, numbered from 0, to `answer`."""
    count = 0

    async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
        nonlocal count
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        number, count = count, count + 1
        await answer(number, send)

    return app


async def respond(send: Send, status: int, body: bytes, **headers: str) -> None:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


SSE_OK = (
    b'event: thread.run.completed\ndata: {"status": "completed"}\n\nevent: done\ndata: [DONE]\n\n'
)


def failing_then_ok(status: int, body: bytes, **headers: str) -> Any:
    async def answer(number: int, send: Send) -> None:
        if number == 0:
            await respond(send, status, body, **headers)
        else:
            await respond(send, 200, SSE_OK, content_type="text/event-stream")

    return asgi_app(answer)


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [
        ("2", 2.0, 2.0),
        ("0", 0.0, 0.0),
        ("600", MAX_RETRY_AFTER, MAX_RETRY_AFTER),
        ("soon", 0.0, 0.5),  # unreadable: our own backoff
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, 0.0),  # a date in the past: at once
    ],
)
async def test_retry_after_in_every_form(retry_after: str, low: float, high: float) -> None:
    app = failing_then_ok(503, b'{"error": {"message": "busy"}}', retry_after=retry_after)

    with serve_asgi(app) as url:
        upstream = Upstream(url)
        async with upstream.client(backoff=0.5) as client:
            events, run = await collect(client.stream_thread_and_run(assistant_id="a"))

    assert upstream.statuses == [503, 200]
    assert len(upstream.sleeps) == 1 and low <= upstream.sleeps[0] <= high
    assert names(events) == ["thread.run.completed", "done"] and run.run_status == "completed"


async def test_retry_after_as_a_future_date() -> None:
    when = email.utils.formatdate(time.time() + 10, usegmt=True)
    app = failing_then_ok(429, b"{}", retry_after=when)

    with serve_asgi(app) as url:
        upstream = Upstream(url)
        async with upstream.client() as client:
            await collect(client.stream_thread_and_run(assistant_id="a"))

    (delay,) = upstream.sleeps
    assert 8 <= delay <= 10


async def test_an_error_body_that_is_not_json_is_kept_as_text() -> None:
    app = failing_then_ok(502, b"<html>Bad gateway</html>", content_type="text/html")

    with serve_asgi(app) as url:
        upstream = Upstream(url)
        async with upstream.client(max_retries=0) as client:
            with pytest.raises(HTTPStatusError) as caught:
                await collect(client.stream_thread_and_run(assistant_id="a"))

    assert caught.value.status_code == 502
    assert caught.value.body == "<html>Bad gateway</html>"
    assert "Bad gateway" in str(caught.value)


async def test_a_success_that_is_not_an_event_stream_is_a_protocol_error() -> None:
    async def answer(number: int, send: Send) -> None:
        await respond(send, 200, b'{"id": "run_1"}', content_type="application/json")

    with serve_asgi(asgi_app(answer)) as url:
        upstream = Upstream(url)
        async with upstream.client() as client:
            with pytest.raises(ProtocolError, match="application/json"):
                await collect(client.stream_thread_and_run(assistant_id="a"))

    assert upstream.responses[0].is_closed


async def test_a_server_silent_before_answering_is_a_stall() -> None:
    async def answer(number: int, send: Send) -> None:
        await asyncio.sleep(0.8)
        await respond(send, 200, SSE_OK, content_type="text/event-stream")

    with serve_asgi(asgi_app(answer)) as url:
        upstream = Upstream(url)
        async with upstream.client(stall_timeout=0.2, max_retries=0) as client:
            with pytest.raises(StallError) as caught:
                await collect(client.stream_thread_and_run(assistant_id="a"))

    assert isinstance(caught.value, TransportError) and caught.value.retryable


async def test_a_plain_json_endpoint_answering_garbage_is_a_protocol_error() -> None:
    async def answer(number: int, send: Send) -> None:
        await respond(send, 200, b"not json", content_type="application/json")

    with serve_asgi(asgi_app(answer)) as url:
        upstream = Upstream(url)
        async with upstream.client() as client:
            with pytest.raises(ProtocolError, match="expected JSON"):
                await client.retrieve_thread("thread_1")


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
