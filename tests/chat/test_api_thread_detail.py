"""The JSON API: a thread's detail with its runs and steps, renaming and deleting it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from chat.models import Message, Run, RunStep, Thread
from tests.chat.api_calls import MakeThread, error_code

# Every test here may start runs: the engine is this test's.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("engine")]


# --- GET /api/threads/<id>/


def test_the_thread_detail_has_messages_and_runs(
    alice: User, alice_client: Client, make_thread: MakeThread
) -> None:
    thread, run = make_thread(alice, content="Hello", status="completed")
    Run.objects.filter(pk=run.pk).update(
        prompt_tokens=1138, completion_tokens=11, total_tokens=1149, cached_tokens=0
    )
    thread.messages.create(
        role="assistant",
        content="Hello! How can I assist you today?",
        run=run,
        status="completed",
        metadata={"reasoning_summary": "A greeting: greet back."},
    )
    response = alice_client.get(f"/api/threads/{thread.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["thread"]["id"] == thread.pk
    assert body["assistant"] == {
        "id": thread.assistant_id,
        "name": "Simulator",
        "model": "gpt-4o",
        "protocol": "assistants",
        "is_default": True,
    }
    assert [(m["role"], m["content"], m["run_id"]) for m in body["messages"]] == [
        ("user", "Hello", run.pk),
        ("assistant", "Hello! How can I assist you today?", run.pk),
    ]
    assert set(body["messages"][0]) == {
        "id", "parent_id", "role", "content", "status", "run_id", "created_at", "metadata",
        "edits", "replies",
    }  # fmt: skip
    assert body["messages"][1]["metadata"] == {"reasoning_summary": "A greeting: greet back."}
    [run_body] = body["runs"]
    assert run_body["usage"] == {
        "prompt_tokens": 1138,
        "completion_tokens": 11,
        "total_tokens": 1149,
        "cached_tokens": 0,
        "reasoning_tokens": None,
        "estimated": False,
    }
    assert run_body["status"] == "completed"
    assert run_body["last_error"] is None
    assert {"id", "model", "created_at", "completed_at"} <= set(run_body)


WEATHER_CALL = {
    "id": "call_CFE1SQFrCPL6c2nCKIdgizmk",
    "type": "function",
    "function": {
        "name": "get_weather",
        "arguments": '{"location":"Paris","unit":"c"}',
        "output": '{"location": "Paris, France", "temperature": 18.5}',
    },
}


def finished_weather_run(alice: User, make_thread: MakeThread) -> tuple[Thread, Run, Message]:
    """A run as the engine stores it: a tool step, then the message that used its output."""
    thread, run = make_thread(alice, content="What's the weather in Paris?", status="completed")
    reply = thread.messages.create(
        role="assistant",
        content="It is 18.5 °C in Paris.",
        run=run,
        status="completed",
        upstream_message_id="msg_xQaCAMDBM0VCZBGuKd1Pg6Rr",
    )
    run.steps.create(
        upstream_step_id="step_1",
        type="tool_calls",
        status="completed",
        step_details={"type": "tool_calls", "tool_calls": [WEATHER_CALL]},
        usage={
            "prompt_tokens": 86,
            "completion_tokens": 9,
            "total_tokens": 95,
            "prompt_token_details": {"cached_tokens": 0},
        },
    )
    run.steps.create(
        upstream_step_id="step_2",
        type="message_creation",
        status="completed",
        step_details={
            "type": "message_creation",
            "message_creation": {"message_id": "msg_xQaCAMDBM0VCZBGuKd1Pg6Rr"},
        },
        usage={"prompt_tokens": 124, "completion_tokens": 44, "total_tokens": 168},
    )
    return thread, run, reply


def test_the_thread_detail_has_each_runs_steps_with_tool_calls(
    alice: User, alice_client: Client, make_thread: MakeThread
) -> None:
    thread, run, reply = finished_weather_run(alice, make_thread)
    [run_body] = alice_client.get(f"/api/threads/{thread.pk}/").json()["runs"]
    tool_step, message_step = run_body["steps"]
    assert tool_step["type"] == "tool_calls" and tool_step["status"] == "completed"
    assert tool_step["step_details"] == {"type": "tool_calls", "tool_calls": [WEATHER_CALL]}
    assert tool_step["usage"] == {"prompt_tokens": 86, "completion_tokens": 9, "total_tokens": 95}
    assert set(tool_step) == {"id", "type", "status", "step_details", "usage", "created_at"}
    # The step names the message it wrote by this server's id, not the upstream's.
    assert message_step["step_details"] == {
        "type": "message_creation",
        "message_creation": {"message_id": reply.pk},
    }
    assert tool_step["id"] != message_step["id"]


def test_a_step_whose_message_was_not_stored_names_none(
    alice: User, alice_client: Client, make_thread: MakeThread
) -> None:
    thread, run = make_thread(alice, status="failed")
    run.steps.create(
        type="message_creation",
        status="failed",
        step_details={"type": "message_creation", "message_creation": {"message_id": "msg_x"}},
    )
    [run_body] = alice_client.get(f"/api/threads/{thread.pk}/").json()["runs"]
    [step] = run_body["steps"]
    assert step["step_details"]["message_creation"] == {"message_id": None}
    assert (step["status"], step["usage"]) == ("failed", None)


def test_an_unfinished_run_has_no_steps_yet(
    alice: User, alice_client: Client, make_thread: MakeThread
) -> None:
    thread, _ = make_thread(alice, status="in_progress")
    [run_body] = alice_client.get(f"/api/threads/{thread.pk}/").json()["runs"]
    assert run_body["steps"] == []


def test_the_thread_detail_reads_steps_in_a_fixed_number_of_queries(
    alice: User,
    alice_client: Client,
    make_thread: MakeThread,
    django_assert_max_num_queries: Any,
) -> None:
    thread, _, _ = finished_weather_run(alice, make_thread)
    for _ in range(5):
        run = Run.objects.create(thread=thread, assistant=thread.assistant, status="completed")
        run.steps.create(type="tool_calls", step_details={"tool_calls": [WEATHER_CALL]})
    # session, user, thread with its assistant, the tree's ids (messages, runs), then the
    # branch's messages, runs and all their steps
    with django_assert_max_num_queries(8):
        runs = alice_client.get(f"/api/threads/{thread.pk}/").json()["runs"]
    assert [len(r["steps"]) for r in runs] == [2, 1, 1, 1, 1, 1]
    assert RunStep.objects.count() == 7


# --- PATCH and DELETE /api/threads/<id>/


def test_renaming_a_thread(alice: User, alice_client: Client, make_thread: MakeThread) -> None:
    thread, _ = make_thread(alice)
    response = alice_client.patch(
        f"/api/threads/{thread.pk}/", {"title": "Weather"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["thread"]["title"] == "Weather"
    thread.refresh_from_db()
    assert thread.title == "Weather"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"title": " "}, "empty_title"),
        ({"title": None}, "invalid_title"),
        ({"title": "nul \u0000"}, "unstorable_text"),
        ({"title": "lone \ud800"}, "unstorable_text"),
    ],
)
def test_renaming_to_a_bad_title_is_400(
    alice: User, alice_client: Client, make_thread: MakeThread, body: Any, code: str
) -> None:
    thread, _ = make_thread(alice)
    response = alice_client.patch(
        f"/api/threads/{thread.pk}/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert error_code(response) == code


def test_deleting_a_thread(alice: User, alice_client: Client, make_thread: MakeThread) -> None:
    thread, _ = make_thread(alice)
    response = alice_client.delete(f"/api/threads/{thread.pk}/")
    assert response.status_code == 204
    assert not Thread.objects.filter(pk=thread.pk).exists()
