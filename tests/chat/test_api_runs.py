"""The JSON API: messages that start runs, and cancelling runs."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings

from chat.models import Message
from tests.chat.api_calls import MakeThread, error_code, post

# Every test here may start runs: the engine is this test's.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("engine")]


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
