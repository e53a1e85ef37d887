"""The API of branches: regenerate, edit and resend, switch. Old versions, their runs and
their usage are kept; the branch on show is what the next run's upstream is sent; bob gets
nothing of alice's."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from chat import selectors
from chat.models import Message, Run, Thread
from chat.runs.branch_history import BRANCH_NOTE
from chat.runs.store import run_context_load

pytestmark = pytest.mark.django_db

MakeThread = Callable[..., tuple[Thread, Run]]


@pytest.fixture(autouse=True)
def _engine(engine: Any) -> Any:
    return engine


def post(client: Client, url: str, body: Any = None) -> Any:
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def answered(run: Run, text: str, status: str = "completed") -> Message:
    """The run's reply, as the engine writes it, and the run ended."""
    Run.objects.filter(pk=run.pk).update(status=status, total_tokens=len(text))
    parent = run.prompt_id or run.messages.get(role="user").pk
    reply = Message.objects.create(
        thread_id=run.thread_id, run=run, parent_id=parent, role="assistant", content=text,
        status="completed",
    )  # fmt: skip
    return reply


def detail(client: Client, thread: Thread) -> dict[str, Any]:
    response = client.get(f"/api/threads/{thread.pk}/")
    assert response.status_code == 200
    return dict(response.json())


def regenerate(client: Client, thread: Thread, message_id: int) -> Any:
    return post(client, f"/api/threads/{thread.pk}/messages/{message_id}/regenerate/")


@pytest.fixture
def exchange(alice: User, make_thread: MakeThread) -> tuple[Thread, Message, Message]:
    """alice's thread: "Hello" answered "Hi there"."""
    thread, run = make_thread(alice, content="Hello")
    return thread, run.messages.get(role="user"), answered(run, "Hi there")


def test_regenerate_makes_a_second_version_and_keeps_the_first(
    alice_client: Client, exchange: tuple[Thread, Message, Message], engine: Any
) -> None:
    thread, hello, first = exchange
    response = regenerate(alice_client, thread, hello.pk)
    assert response.status_code == 201
    run = Run.objects.get(pk=response.json()["run"]["id"])
    assert (run.prompt_id, engine.launched) == (hello.pk, [run.pk])
    second = answered(run, "Hello again")
    body = detail(alice_client, thread)
    assert [m["content"] for m in body["messages"]] == ["Hello", "Hello again"]
    assert body["messages"][0]["replies"] == {
        "run_id": run.pk,
        "versions": [
            {"run_id": first.run_id, "message_id": first.pk},
            {"run_id": run.pk, "message_id": second.pk},
        ],
        "index": 1,
    }
    assert [r["id"] for r in body["runs"]] == [run.pk]
    # Both runs' usage still counts.
    usage = alice_client.get("/api/usage/").json()
    assert (usage["runs"], usage["total_tokens"]) == (2, len("Hi there") + len("Hello again"))


def test_switching_back_shows_the_first_version_and_is_kept(
    alice_client: Client, exchange: tuple[Thread, Message, Message]
) -> None:
    thread, hello, first = exchange
    answered(
        Run.objects.get(pk=regenerate(alice_client, thread, hello.pk).json()["run"]["id"]), "B"
    )
    updated_at = Thread.objects.get(pk=thread.pk).updated_at
    response = post(alice_client, f"/api/threads/{thread.pk}/branch/", {"message_id": first.pk})
    assert (response.status_code, response.json()["leaf_id"]) == (200, first.pk)
    body = detail(alice_client, thread)
    assert [m["content"] for m in body["messages"]] == ["Hello", "Hi there"]
    assert body["messages"][0]["replies"]["index"] == 0
    # Looking at an old version is not news: the thread keeps its place in the list.
    assert Thread.objects.get(pk=thread.pk).updated_at == updated_at


def test_a_follow_up_goes_on_the_branch_on_show_and_its_upstream_sees_that_branch(
    alice_client: Client, exchange: tuple[Thread, Message, Message]
) -> None:
    thread, hello, first = exchange
    answered(
        Run.objects.get(pk=regenerate(alice_client, thread, hello.pk).json()["run"]["id"]), "B"
    )
    post(alice_client, f"/api/threads/{thread.pk}/branch/", {"message_id": first.pk})
    run_id = post(alice_client, f"/api/threads/{thread.pk}/messages/", {"content": "And?"})
    run = Run.objects.get(pk=run_id.json()["run"]["id"])
    assert run.messages.get(role="user").parent_id == first.pk
    history = run_context_load(run.pk).history
    assert history == [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi there"},
        {"role": "user", "content": "And?"},
    ]


def test_edit_and_resend_makes_a_sibling_message_with_its_own_run(
    alice_client: Client, exchange: tuple[Thread, Message, Message]
) -> None:
    thread, hello, _ = exchange
    url = f"/api/threads/{thread.pk}/messages/{hello.pk}/resend/"
    response = post(alice_client, url, {"content": "Good morning"})
    assert response.status_code == 201
    edited = Message.objects.get(pk=response.json()["message_id"])
    assert (edited.parent_id, edited.content) == (hello.parent_id, "Good morning")
    run = Run.objects.get(pk=response.json()["run"]["id"])
    # The upstream is not sent the message that was edited, nor its reply.
    assert run_context_load(run.pk).history == [{"role": "user", "content": "Good morning"}]
    body = detail(alice_client, thread)
    assert [m["content"] for m in body["messages"]] == ["Good morning"]
    assert body["messages"][0]["edits"] == {"ids": [hello.pk, edited.pk], "index": 1}
    assert [r["id"] for r in body["runs"]] == [run.pk]
    # The first version is one switch away, with its reply.
    post(alice_client, f"/api/threads/{thread.pk}/branch/", {"message_id": hello.pk})
    body = detail(alice_client, thread)
    assert [m["content"] for m in body["messages"]] == ["Hello", "Hi there"]


def test_a_stateful_upstream_gets_a_new_conversation_for_a_branch(
    alice_client: Client, exchange: tuple[Thread, Message, Message]
) -> None:
    thread, hello, _ = exchange
    Thread.objects.filter(pk=thread.pk).update(upstream_thread_id="thread_upstream")
    follow_up = post(alice_client, f"/api/threads/{thread.pk}/messages/", {"content": "More"})
    linear = run_context_load(follow_up.json()["run"]["id"])
    # Straight on: the upstream's thread holds the history, only the new message is sent.
    assert (linear.upstream_thread_id, linear.notes) == ("thread_upstream", [])
    answered(Run.objects.get(pk=linear.run_id), "Yes")
    again = run_context_load(regenerate(alice_client, thread, hello.pk).json()["run"]["id"])
    assert (again.upstream_thread_id, again.notes) == ("", [BRANCH_NOTE])
    assert again.history == [{"role": "user", "content": "Hello"}]


def test_nothing_changes_while_a_reply_is_being_written(
    alice: User, alice_client: Client, make_thread: MakeThread
) -> None:
    thread, run = make_thread(alice, content="Hello", status="in_progress")
    hello = run.messages.get(role="user")
    response = regenerate(alice_client, thread, hello.pk)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "run_active")
    url = f"/api/threads/{thread.pk}/messages/{hello.pk}/resend/"
    assert post(alice_client, url, {"content": "Other"}).status_code == 409
    assert (Run.objects.count(), Message.objects.count()) == (1, 1)


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("branch/", {"message_id": "x"}, 400, "invalid_message_id"),
        ("branch/", {}, 400, "invalid_message_id"),
        ("branch/", {"message_id": 999999}, 404, "not_found"),
        ("messages/{reply}/regenerate/", {}, 400, "not_a_user_message"),
        ("messages/999999/regenerate/", {}, 404, "not_found"),
        ("messages/{hello}/resend/", {"content": " "}, 400, "empty_content"),
        ("messages/{hello}/resend/", {}, 400, "invalid_content"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    alice_client: Client,
    exchange: tuple[Thread, Message, Message],
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    thread, hello, reply = exchange
    url = f"/api/threads/{thread.pk}/" + path.format(hello=hello.pk, reply=reply.pk)
    response = post(alice_client, url, body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert (Run.objects.count(), Message.objects.count()) == (1, 2)
    assert detail(alice_client, thread)["leaf_id"] == reply.pk


def test_bob_can_neither_see_nor_change_alices_branches(
    bob_client: Client, alice: User, exchange: tuple[Thread, Message, Message]
) -> None:
    thread, hello, reply = exchange
    responses = [
        regenerate(bob_client, thread, hello.pk),
        post(bob_client, f"/api/threads/{thread.pk}/messages/{hello.pk}/resend/", {"content": "x"}),
        post(bob_client, f"/api/threads/{thread.pk}/branch/", {"message_id": hello.pk}),
    ]
    assert [r.status_code for r in responses] == [404, 404, 404]
    assert (Run.objects.count(), Message.objects.count()) == (1, 2)
    assert selectors.thread_detail(user=alice, thread_id=thread.pk).branch.message_ids == [
        hello.pk,
        reply.pk,
    ]


def test_a_message_of_another_thread_is_not_found(
    alice: User, alice_client: Client, make_thread: MakeThread,
    exchange: tuple[Thread, Message, Message],
) -> None:  # fmt: skip
    thread, _, _ = exchange
    _, other_run = make_thread(alice, content="Elsewhere", status="completed")
    other = other_run.messages.get(role="user")
    assert regenerate(alice_client, thread, other.pk).status_code == 404
    response = post(alice_client, f"/api/threads/{thread.pk}/branch/", {"message_id": other.pk})
    assert response.status_code == 404
