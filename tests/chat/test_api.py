"""The JSON API: starting threads and listing them (docs/api.md)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings

from chat.models import Assistant, Run, Thread
from tests.chat.api_calls import MakeThread, error_code, post

# Every test here may start runs: the engine is this test's.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("engine")]


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
