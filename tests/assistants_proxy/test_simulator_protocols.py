"""The simulator's Chat Completions and Responses endpoints on the wire, as the recordings
have them, with the same script and the same /sim directives as its Assistants API."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from simulator_client import no_server_errors  # noqa: F401

from assistants_proxy.simulator.script import plan_reply

pytestmark = pytest.mark.usefixtures("no_server_errors")

SEED_TEXT = "Hello! How can I assist you today?"


def chat_body(text: str, **extra: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": text}]
    options = {"include_usage": True}
    return {
        "model": "gpt-4o",
        "messages": messages,
        "stream": True,
        "stream_options": options,
        **extra,
    }


def responses_body(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "input": text, "stream": True, **extra}


def blocks(response: httpx.Response) -> list[str]:
    return [block for block in response.text.split("\n\n") if block]


def chat_chunks(response: httpx.Response) -> list[Any]:
    return [json.loads(b.removeprefix("data: ")) for b in blocks(response) if b != "data: [DONE]"]


def response_events(response: httpx.Response) -> list[tuple[str, Any]]:
    pairs = []
    for block in blocks(response):
        event, data = block.split("\n", 1)
        pairs.append((event.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return pairs


def test_a_chat_stream_has_the_recorded_shape(simulator_url: str) -> None:
    with httpx.Client(base_url=simulator_url) as http:
        response = http.post("/chat/completions", json=chat_body("Hello"))

    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert all(b.startswith("data: ") for b in blocks(response))  # no event: lines
    assert blocks(response)[-1] == "data: [DONE]"
    chunks = chat_chunks(response)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == SEED_TEXT
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 9
    assert all(c["usage"] is None for c in chunks[:-1])
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["object"] == "chat.completion.chunk"


def test_a_chat_stream_without_include_usage_has_no_usage(simulator_url: str) -> None:
    with httpx.Client(base_url=simulator_url) as http:
        response = http.post("/chat/completions", json=chat_body("Hello", stream_options=None))

    assert all("usage" not in c for c in chat_chunks(response))


def test_a_responses_stream_has_the_recorded_shape(simulator_url: str) -> None:
    with httpx.Client(base_url=simulator_url) as http:
        response = http.post("/responses", json=responses_body("Hello"))

    events = response_events(response)
    names = [name for name, _ in events]
    assert names == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 9,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [data["type"] for _, data in events] == names
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    assert "[DONE]" not in response.text
    final = events[-1][1]["response"]
    assert final["output"][0]["content"][0]["text"] == SEED_TEXT
    assert final["usage"]["output_tokens"] == 9


def test_a_responses_function_call_has_the_recorded_shape(simulator_url: str) -> None:
    tools = [{"type": "function", "name": "get_weather"}]
    with httpx.Client(base_url=simulator_url) as http:
        response = http.post("/responses", json=responses_body("Weather in Oslo?", tools=tools))

    events = response_events(response)
    added = events[2][1]["item"]
    assert added["type"] == "function_call" and added["call_id"].startswith("call_")
    arguments = "".join(
        d["delta"] for n, d in events if n == "response.function_call_arguments.delta"
    )
    assert arguments == '{"location":"Oslo","unit":"c"}'
    assert events[-1][0] == "response.completed"


@pytest.mark.parametrize(
    ("path", "body"), [("/chat/completions", chat_body), ("/responses", responses_body)]
)
def test_drop_after_cuts_the_connection(simulator_url: str, path: str, body: Any) -> None:
    with (
        httpx.Client(base_url=simulator_url) as http,
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("POST", path, json=body("/sim drop-after=3 tokens=20 Rivers?")) as response,
    ):
        for _ in response.iter_bytes():
            pass


@pytest.mark.parametrize(
    ("path", "body"), [("/chat/completions", chat_body), ("/responses", responses_body)]
)
def test_status_fails_the_request_with_retry_after(
    simulator_url: str, path: str, body: Any
) -> None:
    with httpx.Client(base_url=simulator_url) as http:
        response = http.post(path, json=body(f"/sim status=429 times=1 Hi {time.time_ns()}"))

    assert response.status_code == 429 and response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize(
    ("path", "body"), [("/chat/completions", chat_body), ("/responses", responses_body)]
)
def test_a_bad_directive_or_body_is_a_400(simulator_url: str, path: str, body: Any) -> None:
    with httpx.Client(base_url=simulator_url) as http:
        typo = http.post(path, json=body("/sim stmap Hello"))
        no_model = http.post(path, json={**body("Hello"), "model": None})

    assert typo.status_code == 400 and typo.json()["error"]["code"] == "invalid_directive"
    assert no_model.status_code == 400 and no_model.json()["error"]["param"] == "model"


def test_an_unknown_previous_response_is_a_404(simulator_url: str) -> None:
    with httpx.Client(base_url=simulator_url) as http:
        response = http.post("/responses", json=responses_body("Hi", previous_response_id="resp_x"))

    assert response.status_code == 404


def test_max_tokens_cuts_the_reply_with_finish_reason_length(simulator_url: str) -> None:
    with httpx.Client(base_url=simulator_url) as http:
        chat = http.post(
            "/chat/completions", json={**chat_body("Hello"), "stream": False, "max_tokens": 2}
        )
        resp = http.post("/responses", json={**responses_body("Hello"), "max_output_tokens": 2})

    assert chat.json()["choices"][0]["message"]["content"] == "Hello!"
    assert chat.json()["choices"][0]["finish_reason"] == "length"
    name, data = response_events(resp)[-1]
    assert name == "response.incomplete"
    assert data["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_tool_results_in_chat_messages_get_the_reply_that_uses_them(simulator_url: str) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": "{}"},
    }
    messages = [
        {"role": "user", "content": "Weather in Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "hot"},
    ]
    with httpx.Client(base_url=simulator_url) as http:
        response = http.post("/chat/completions", json={"model": "m", "messages": messages})

    text = response.json()["choices"][0]["message"]["content"]
    assert text == plan_reply("Weather in Rome?", tool_outputs=("hot",)).text
