"""The JSON API: usage, assistants, another user's thread, log-in, methods, CSRF, ASGI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client

from chat.models import Assistant, Run, Thread
from tests.chat.api_calls import MakeThread, error_code, post

# Every test here may start runs: the engine is this test's.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("engine")]


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
        ("put", "/api/threads/", "GET, HEAD, POST"),
        ("delete", "/api/threads/", "GET, HEAD, POST"),
        ("post", "/api/threads/{id}/", "DELETE, GET, HEAD, PATCH"),
        ("get", "/api/threads/{id}/messages/", "POST"),
        ("get", "/api/threads/{id}/runs/{run}/cancel/", "POST"),
        ("post", "/api/usage/", "GET, HEAD"),
        ("post", "/api/assistants/", "GET, HEAD"),
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
