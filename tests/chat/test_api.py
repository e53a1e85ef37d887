from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client
from pytest_django import Settings

from chat.models import Assistant, Message, Run, RunStep, Thread

pytestmark = pytest.mark.django_db

MakeThread = Callable[..., tuple[Thread, Run]]


@pytest.fixture(autouse=True)
def _engine(engine: Any) -> Any:
    return engine


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def error_code(response: Any) -> str:
    return json.loads(response.content)["error"]["code"]


# --- POST /api/threads/


def test_posting_a_first_message_creates_a_thread_and_launches_its_run(
    alice_client: Client, engine: Any
) -> None:
    response = post(alice_client, "/api/threads/", {"content": "Hello!"})
    assert response.status_code == 201
    body = response.json()
    thread = Thread.objects.get()
    assert body["thread"]["id"] == thread.pk
    assert body["thread"]["title"] == "Hello!"
    assert body["thread"]["assistant_id"] == Assistant.objects.get(is_default=True).pk
    assert body["run"]["status"] == "queued"
    assert body["run"]["usage"]["total_tokens"] == 0
    assert engine.launched == [body["run"]["id"]]


def test_a_thread_can_use_another_assistant(alice_client: Client) -> None:
    other = Assistant.objects.create(name="Local", model="llama3", protocol="chat_completions")
    response = post(alice_client, "/api/threads/", {"content": "hi", "assistant_id": other.pk})
    assert response.status_code == 201
    assert response.json()["thread"]["assistant_id"] == other.pk
    assert response.json()["assistant"] == {
        "id": other.pk,
        "name": "Local",
        "model": "llama3",
        "protocol": "chat_completions",
        "is_default": False,
    }
    assert response.json()["run"]["model"] == "llama3"
    assert Thread.objects.get().assistant == other


def test_a_null_assistant_id_means_the_default(alice_client: Client) -> None:
    Assistant.objects.create(name="Local", model="llama3")
    response = post(alice_client, "/api/threads/", {"content": "hi", "assistant_id": None})
    assert response.status_code == 201
    assert response.json()["assistant"]["is_default"] is True
    assert response.json()["assistant"]["name"] == "Simulator"


def test_later_messages_stay_with_the_threads_assistant(alice_client: Client) -> None:
    other = Assistant.objects.create(name="Local", model="llama3")
    created = post(alice_client, "/api/threads/", {"content": "hi", "assistant_id": other.pk})
    thread_id = created.json()["thread"]["id"]
    Run.objects.update(status="completed")
    response = post(alice_client, f"/api/threads/{thread_id}/messages/", {"content": "more"})
    assert response.status_code == 201
    assert response.json()["run"]["model"] == "llama3"
    assert Run.objects.get(pk=response.json()["run"]["id"]).assistant == other


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"content": ""}, "empty_content"),
        ({"content": "   \n"}, "empty_content"),
        ({"content": "x" * 32001}, "content_too_long"),
        ({"content": "a NUL \u0000 here"}, "unstorable_text"),
        ({"content": "a lone \ud800 surrogate"}, "unstorable_text"),
        ({}, "invalid_content"),
        ({"content": 42}, "invalid_content"),
        ({"content": "hi", "assistant_id": "1"}, "invalid_assistant_id"),
        ({"content": "hi", "assistant_id": True}, "invalid_assistant_id"),
        ({"content": "hi", "assistant_id": 1.5}, "invalid_assistant_id"),
        ({"content": "hi", "assistant_id": [1]}, "invalid_assistant_id"),
        ({"content": "hi", "assistant_id": 987654}, "unknown_assistant"),
        ({"content": "hi", "assistant_id": -1}, "unknown_assistant"),
        ({"content": "hi", "assistant_id": 2**70}, "unknown_assistant"),
        ([1, 2], "invalid_json"),
        ("just a string", "invalid_json"),
    ],
)
def test_bad_new_threads_are_400(alice_client: Client, engine: Any, body: Any, code: str) -> None:
    response = post(alice_client, "/api/threads/", body)
    assert response.status_code == 400
    assert error_code(response) == code
    error = response.json()["error"]
    assert set(error) == {"code", "message"} and error["message"]
    assert not Thread.objects.exists() and not Run.objects.exists()
    assert engine.launched == []


def test_a_message_of_exactly_the_limit_is_accepted(alice_client: Client) -> None:
    response = post(alice_client, "/api/threads/", {"content": "x" * 32000})
    assert response.status_code == 201


def test_a_body_that_is_not_json_is_400(alice_client: Client) -> None:
    response = alice_client.post("/api/threads/", "{nope", content_type="application/json")
    assert response.status_code == 400
    assert error_code(response) == "invalid_json"
    assert response.json()["error"]["message"]


def test_new_threads_are_rate_limited(
    alice_client: Client, settings: Settings, engine: Any
) -> None:
    settings.RUNS_PER_MINUTE = 1
    assert post(alice_client, "/api/threads/", {"content": "one"}).status_code == 201
    response = post(alice_client, "/api/threads/", {"content": "two"})
    assert response.status_code == 429
    assert error_code(response) == "rate_limited"
    assert len(engine.launched) == 1


# --- GET /api/threads/


def test_the_thread_list_holds_own_threads_newest_first(
    alice: User, bob: User, alice_client: Client, make_thread: MakeThread
) -> None:
    older, _ = make_thread(alice, content="older")
    newer, _ = make_thread(alice, content="newer")
    make_thread(bob, content="secret")
    response = alice_client.get("/api/threads/")
    assert response.status_code == 200
    threads = response.json()["threads"]
    assert [t["id"] for t in threads] == [newer.pk, older.pk]
    assert set(threads[0]) == {"id", "title", "assistant_id", "created_at", "updated_at"}
    assert threads[0]["title"] == "newer"


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
    # session, user, thread with its assistant, messages, runs, all their steps
    with django_assert_max_num_queries(6):
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


# --- POST /api/threads/<id>/messages/


def test_posting_a_message_starts_a_run(
    alice: User, alice_client: Client, make_thread: MakeThread, engine: Any
) -> None:
    thread, _ = make_thread(alice, status="completed")
    response = post(alice_client, f"/api/threads/{thread.pk}/messages/", {"content": "More"})
    assert response.status_code == 201
    run = response.json()["run"]
    assert run["status"] == "queued"
    assert run["thread_id"] == thread.pk
    assert engine.launched == [run["id"]]
    assert thread.messages.last().content == "More"  # type: ignore[union-attr]


def test_posting_while_a_run_is_active_is_409(
    alice: User, alice_client: Client, make_thread: MakeThread, engine: Any
) -> None:
    thread, _ = make_thread(alice, status="in_progress")
    response = post(alice_client, f"/api/threads/{thread.pk}/messages/", {"content": "More"})
    assert response.status_code == 409
    assert error_code(response) == "run_active"
    assert engine.launched == []


def test_posting_messages_is_rate_limited(
    alice: User,
    alice_client: Client,
    make_thread: MakeThread,
    settings: Settings,
) -> None:
    settings.RUNS_PER_MINUTE = 1
    thread, _ = make_thread(alice, status="completed")
    response = post(alice_client, f"/api/threads/{thread.pk}/messages/", {"content": "More"})
    assert response.status_code == 429
    assert error_code(response) == "rate_limited"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("", "empty_content"),
        ("x" * 32001, "content_too_long"),
        ("nul \x00", "unstorable_text"),
        ("lone \udfff", "unstorable_text"),
    ],
)
def test_bad_messages_are_400(
    alice: User, alice_client: Client, make_thread: MakeThread, content: str, code: str
) -> None:
    thread, _ = make_thread(alice, status="completed")
    response = post(alice_client, f"/api/threads/{thread.pk}/messages/", {"content": content})
    assert response.status_code == 400
    assert error_code(response) == code


# --- POST /api/threads/<id>/runs/<run_id>/cancel/


def test_cancelling_a_run_the_engine_holds(
    alice: User, alice_client: Client, make_thread: MakeThread, engine: Any
) -> None:
    engine.cancel_finds_run = True
    thread, run = make_thread(alice, status="in_progress")
    response = alice_client.post(f"/api/threads/{thread.pk}/runs/{run.pk}/cancel/")
    assert response.status_code == 202
    assert response.json()["run"]["status"] == "cancelling"  # the engine finishes it
    assert engine.cancelled == [run.pk]


def test_cancelling_a_run_no_engine_holds_ends_it(
    alice: User, alice_client: Client, make_thread: MakeThread, engine: Any
) -> None:
    thread, run = make_thread(alice, status="queued")
    response = alice_client.post(f"/api/threads/{thread.pk}/runs/{run.pk}/cancel/")
    assert response.status_code == 202
    assert response.json()["run"]["status"] == "cancelled"
    # ...so the thread is free for the next message.
    assert (
        post(alice_client, f"/api/threads/{thread.pk}/messages/", {"content": "x"}).status_code
        == 201
    )


def test_stopping_a_run_no_engine_holds_ends_its_reply_too(
    alice: User, alice_client: Client, make_thread: MakeThread, engine: Any
) -> None:
    # Its process died mid-reply: the reply keeps its saved text, and is no longer "writing".
    thread, run = make_thread(alice, status="in_progress")
    Message.objects.create(thread=thread, run=run, role="assistant", content="Half a rep")
    response = alice_client.post(f"/api/threads/{thread.pk}/runs/{run.pk}/cancel/")
    assert response.status_code == 202
    reply = Message.objects.get(run=run, role="assistant")
    assert (reply.status, reply.content) == ("incomplete", "Half a rep")


def test_cancelling_an_ended_run_is_409(
    alice: User, alice_client: Client, make_thread: MakeThread, engine: Any
) -> None:
    thread, run = make_thread(alice, status="completed")
    response = alice_client.post(f"/api/threads/{thread.pk}/runs/{run.pk}/cancel/")
    assert response.status_code == 409
    assert error_code(response) == "run_ended"
    assert engine.cancelled == []


def test_cancelling_an_unknown_run_is_404(
    alice: User, alice_client: Client, make_thread: MakeThread
) -> None:
    thread, run = make_thread(alice)
    other, _ = make_thread(alice, content="other")
    assert (
        alice_client.post(f"/api/threads/{thread.pk}/runs/{run.pk + 99}/cancel/").status_code == 404
    )
    # A real run, but addressed through another thread.
    assert alice_client.post(f"/api/threads/{other.pk}/runs/{run.pk}/cancel/").status_code == 404


# --- GET /api/usage/ and /api/assistants/


def test_usage_reports_totals_days_and_models(
    alice: User, bob: User, alice_client: Client, make_thread: MakeThread
) -> None:
    _, run = make_thread(alice, status="completed")
    _, bobs = make_thread(bob, status="completed")
    Run.objects.filter(pk=run.pk).update(
        prompt_tokens=1138, completion_tokens=11, total_tokens=1149
    )
    Run.objects.filter(pk=bobs.pk).update(prompt_tokens=5, completion_tokens=5, total_tokens=10)
    body = alice_client.get("/api/usage/").json()
    assert (body["prompt_tokens"], body["completion_tokens"], body["total_tokens"]) == (
        1138,
        11,
        1149,
    )
    assert body["runs"] == 1
    [day] = body["days"]
    assert day["date"] == run.created_at.date().isoformat()
    assert (day["total_tokens"], day["runs"]) == (1149, 1)
    assert body["models"] == [
        {
            "model": "gpt-4o",
            "prompt_tokens": 1138,
            "completion_tokens": 11,
            "total_tokens": 1149,
            "runs": 1,
        }
    ]


def test_the_assistants_are_listed_default_first(alice_client: Client) -> None:
    Assistant.objects.create(name="A local model", model="llama3", protocol="chat_completions")
    assistants = alice_client.get("/api/assistants/").json()["assistants"]
    assert assistants[0]["name"] == "Simulator"
    assert assistants[0]["is_default"] is True
    assert assistants[1] == {
        "id": assistants[1]["id"],
        "name": "A local model",
        "model": "llama3",
        "protocol": "chat_completions",
        "is_default": False,
    }


# --- Someone else's thread: always 404, never 403


def test_another_users_thread_is_404_everywhere(
    alice: User, bob_client: Client, make_thread: MakeThread, engine: Any
) -> None:
    thread, run = make_thread(alice, content="private")
    base = f"/api/threads/{thread.pk}/"
    answers = [
        bob_client.get(base),
        bob_client.patch(base, {"title": "mine"}, content_type="application/json"),
        bob_client.delete(base),
        post(bob_client, base + "messages/", {"content": "hi"}),
        bob_client.post(f"{base}runs/{run.pk}/cancel/"),
    ]
    assert [a.status_code for a in answers] == [404] * 5
    assert {error_code(a) for a in answers} == {"not_found"}
    thread.refresh_from_db()
    assert thread.title == "private"
    assert engine.launched == engine.cancelled == []


# --- Not logged in, wrong methods


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/threads/"),
        ("post", "/api/threads/"),
        ("get", "/api/threads/1/"),
        ("patch", "/api/threads/1/"),
        ("delete", "/api/threads/1/"),
        ("post", "/api/threads/1/messages/"),
        ("post", "/api/threads/1/runs/1/cancel/"),
        ("get", "/api/usage/"),
        ("get", "/api/assistants/"),
    ],
)
def test_the_api_answers_401_when_not_logged_in(client: Client, method: str, url: str) -> None:
    response = getattr(client, method)(url)
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("put", "/api/threads/", "GET, POST"),
        ("delete", "/api/threads/", "GET, POST"),
        ("post", "/api/threads/{id}/", "DELETE, GET, PATCH"),
        ("get", "/api/threads/{id}/messages/", "POST"),
        ("get", "/api/threads/{id}/runs/{run}/cancel/", "POST"),
        ("post", "/api/usage/", "GET"),
        ("post", "/api/assistants/", "GET"),
    ],
)
def test_wrong_methods_are_405(
    alice: User,
    alice_client: Client,
    make_thread: MakeThread,
    method: str,
    url: str,
    allowed: str,
) -> None:
    thread, run = make_thread(alice)
    response = getattr(alice_client, method)(url.format(id=thread.pk, run=run.pk))
    assert response.status_code == 405
    assert response["Allow"] == allowed
    assert error_code(response) == "method_not_allowed"


def test_the_api_enforces_csrf(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = post(client, "/api/threads/", {"content": "hi"})
    assert response.status_code == 403
    assert not Thread.objects.exists()


def test_the_api_accepts_the_csrf_header(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/")  # the page sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/threads/",
        json.dumps({"content": "hi"}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201


def test_the_csrf_failure_view_answers_the_api_in_json(rf: Any) -> None:
    from chat.views.errors import csrf_failure

    response = csrf_failure(rf.post("/api/threads/"), reason="CSRF cookie not set.")
    assert response.status_code == 403
    assert error_code(response) == "csrf_failed"
    page = csrf_failure(rf.post("/accounts/login/"), reason="CSRF cookie not set.")
    assert page.status_code == 403
    assert page["Content-Type"].startswith("text/html")


@pytest.fixture
async def _close_worker_connections() -> AsyncIterator[None]:
    yield
    # The views' sync_to_async calls ran in asgiref's worker thread, which keeps its own
    # connection open; PostgreSQL refuses to drop the test database while it is.
    await sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_close_worker_connections")
async def test_the_run_starting_views_work_under_asgi(async_client: Any, engine: Any) -> None:
    # The default assistant comes from a data migration, which a transactional test run
    # before this one flushed.
    await Assistant.objects.aget_or_create(is_default=True, defaults={"name": "Simulator"})
    # Under ASGI the service runs in a worker thread with its own connection, and the view must
    # load the user with `auser()`: the lazy `request.user` cannot query from the event loop.
    alice = await User.objects.acreate_user("alice", "alice@example.com", "pw")
    await async_client.aforce_login(alice)
    response = await async_client.post(
        "/api/threads/", {"content": "Hello"}, content_type="application/json"
    )
    assert response.status_code == 201
    run_id = json.loads(response.content)["run"]["id"]
    assert engine.launched == [run_id]
    assert await Run.objects.filter(pk=run_id, thread__owner=alice).aexists()
