"""Each ``/sim`` fault directive, over real HTTP, and what the store says afterwards."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from httpx_sse import connect_sse
from simulator_client import (
    Event,
    assistant_messages,
    client,
    create_and_run,
    first,
    names,
    no_server_errors,  # noqa: F401
    text_of,
    thread_run_body,
    wait_for_run,
)

from assistants_proxy.simulator.script import plan_reply

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.mark.parametrize("drop_after", [0, 5])
def test_drop_after_cuts_the_connection_and_the_run_still_completes(
    simulator_url: str, drop_after: int
) -> None:
    received: list[Event] = []
    body = thread_run_body(f"/sim drop-after={drop_after} tokens=30 Tell me about rivers")
    with client(simulator_url) as http:
        with (
            pytest.raises(httpx.RemoteProtocolError),
            connect_sse(http, "POST", "/threads/runs", json=body) as source,
        ):
            for sse in source.iter_sse():
                received.append(Event(sse.event, sse.data, time.monotonic()))
        assert names(received).count("thread.message.delta") == drop_after
        assert "done" not in names(received)
        run = first(received, "thread.run.created")
        final = wait_for_run(http, run["thread_id"], run["id"], "completed")
        [message] = assistant_messages(http, run["thread_id"])
    expected = plan_reply("Tell me about rivers", tokens=30).text
    assert message["status"] == "completed"
    assert message["content"][0]["text"]["value"] == expected
    assert final["usage"]["completion_tokens"] == 30


@pytest.mark.parametrize("status", [429, 500, 503])
def test_status_fails_the_first_attempts_then_succeeds(simulator_url: str, status: int) -> None:
    body = thread_run_body(f"/sim status={status} times=1 Hello {time.time_ns()}")
    with client(simulator_url) as http:
        failed = http.post("/threads/runs", json=body)
        assert failed.status_code == status
        assert failed.headers["retry-after"] == "1"
        error = failed.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        with connect_sse(http, "POST", "/threads/runs", json=body) as source:
            assert source.response.status_code == 200
            events = [sse.event for sse in source.iter_sse()]
    assert events[-2:] == ["thread.run.completed", "done"]


def test_status_without_times_always_fails(simulator_url: str) -> None:
    body = thread_run_body(f"/sim status=429 Hello {time.time_ns()}")
    with client(simulator_url) as http:
        codes = [http.post("/threads/runs", json=body).status_code for _ in range(3)]
    assert codes == [429, 429, 429]


def test_an_injected_failure_creates_nothing(simulator_url: str) -> None:
    with client(simulator_url) as http:
        thread = http.post("/threads", json={}).json()
        http.post(
            f"/threads/{thread['id']}/messages",
            json={"role": "user", "content": "/sim status=500 times=1 Hi"},
        )
        body = {"assistant_id": thread_run_body("")["assistant_id"]}
        assert http.post(f"/threads/{thread['id']}/runs", json=body).status_code == 500
        runs = http.get(f"/threads/{thread['id']}/runs").json()["data"]
        assert runs == []
        assert http.post(f"/threads/{thread['id']}/runs", json=body).status_code == 200


def test_error_event_arrives_mid_stream_and_fails_the_run(simulator_url: str) -> None:
    with client(simulator_url) as http:
        events = create_and_run(http, "/sim error-event=4 tokens=10 Tell me about rivers")
        assert names(events)[-2:] == ["error", "done"]
        assert names(events).count("thread.message.delta") == 4
        assert first(events, "error")["code"] == "server_error"
        run = first(events, "thread.run.created")
        failed = wait_for_run(http, run["thread_id"], run["id"], "failed")
    assert failed["last_error"]["code"] == "server_error"


def test_fail_ends_with_run_failed_and_an_incomplete_message(simulator_url: str) -> None:
    with client(simulator_url) as http:
        events = create_and_run(http, "/sim fail tokens=10 Tell me about rivers")
        run = first(events, "thread.run.failed")
        [message] = assistant_messages(http, run["thread_id"])
    assert names(events)[-4:] == [
        "thread.message.incomplete",
        "thread.run.step.failed",
        "thread.run.failed",
        "done",
    ]
    assert names(events).count("thread.message.delta") == 5  # midway
    assert run["last_error"]["code"] == "server_error" and run["last_error"]["message"]
    assert run["usage"]["completion_tokens"] == 5
    assert message["status"] == "incomplete"
    assert message["incomplete_details"] == {"reason": "run_failed"}


def test_malformed_sends_one_broken_data_line_and_keeps_the_text(simulator_url: str) -> None:
    with client(simulator_url) as http:
        events = create_and_run(http, "/sim malformed tokens=12 Tell me about rivers")
    broken = [e for e in events if e.raw != "[DONE]" and not _parses(e.raw)]
    assert len(broken) == 1 and broken[0].name == "thread.message.delta"
    completed = first(events, "thread.message.completed")
    assert text_of(events) == completed["content"][0]["text"]["value"]
    assert names(events)[-2:] == ["thread.run.completed", "done"]


def _parses(raw: str) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


def test_stall_goes_silent_mid_stream(simulator_url: str) -> None:
    with client(simulator_url) as http:
        events = create_and_run(http, "/sim stall=0.4 tokens=10 Tell me about rivers")
    times = [e.received_at for e in events if e.name == "thread.message.delta"]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert max(gaps) >= 0.35
    assert gaps.index(max(gaps)) == 4  # between the 5th and 6th of 10 deltas
    assert names(events)[-1] == "done"


def test_first_token_delay_holds_back_the_first_delta(simulator_url: str) -> None:
    with client(simulator_url) as http:
        events = create_and_run(http, "/sim first-token-delay=0.3 tokens=5 Tell me about rivers")
    created = next(e for e in events if e.name == "thread.message.in_progress").received_at
    first_delta = next(e for e in events if e.name == "thread.message.delta").received_at
    assert first_delta - created >= 0.25


def test_code_adds_a_code_interpreter_step_before_the_message(simulator_url: str) -> None:
    with client(simulator_url) as http:
        events = create_and_run(http, "/sim code tokens=8 Compute something")
    step = first(events, "thread.run.step.created")
    assert step["type"] == "tool_calls"
    deltas = [
        e.data["delta"]["step_details"]["tool_calls"][0]
        for e in events
        if e.name == "thread.run.step.delta"
    ]
    assert deltas[0]["type"] == "code_interpreter" and deltas[0]["id"].startswith("call_")
    code = "".join(d["code_interpreter"].get("input", "") for d in deltas)
    assert "print(" in code
    assert deltas[-1]["code_interpreter"]["outputs"][0]["logs"] == "42.0\n"
    done_step = first(events, "thread.run.step.completed")
    assert done_step["step_details"]["tool_calls"][0]["code_interpreter"]["input"] == code
    assert names(events).index("thread.run.step.completed") < names(events).index(
        "thread.message.created"
    )
    assert names(events).count("thread.message.delta") == 8


def test_stamp_puts_the_emission_time_on_each_delta(simulator_url: str) -> None:
    before = time.time()
    with client(simulator_url) as http:
        events = create_and_run(http, "/sim stamp tokens=6 Tell me about rivers")
    stamps = [e.data["sim_emitted_at"] for e in events if e.name == "thread.message.delta"]
    assert len(stamps) == 6 and stamps == sorted(stamps)
    assert before <= stamps[0] <= stamps[-1] <= time.time()


@pytest.mark.parametrize(
    "text",
    [
        "/sim tokens=abc Hi",
        "/sim bogus=1 Hi",
        "/sim status=404 Hi",
        "/sim stmap Hi",
        "/sim tokens Hi",
        "/sim code=1 Hi",
        "/sim rate=0 Hi",
    ],
)
def test_bad_directives_are_a_clear_400(simulator_url: str, text: str) -> None:
    with client(simulator_url) as http:
        response = http.post("/threads/runs", json=thread_run_body(text))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_directive" and error["type"] == "invalid_request_error"
    assert "/sim" in error["message"]
