"""Opening a thread with many versions: the detail holds the branch on show, its runs with
their steps, and nothing of the other versions, in as many queries whatever their number."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from chat import branch_services
from chat.models import Message, Run, RunStep, Thread

pytestmark = pytest.mark.django_db

MakeThread = Callable[..., tuple[Thread, Run]]


def answered(run: Run, text: str) -> Message:
    """The run's reply and its step, as the engine writes them, and the run ended."""
    Run.objects.filter(pk=run.pk).update(status="completed")
    parent = run.prompt_id or run.messages.get(role="user").pk
    reply = Message.objects.create(
        thread_id=run.thread_id, run=run, parent_id=parent, role="assistant", content=text,
        status="completed",
    )  # fmt: skip
    RunStep.objects.create(run=run, type="message_creation", status="completed")
    return reply


def regenerated(thread: Thread, prompt: Message, text: str) -> Message:
    run = branch_services.run_regenerate_for(
        user_id=thread.owner_id, thread_id=thread.pk, message_id=prompt.pk
    )
    return answered(run, text)


def shown(client: Client, thread: Thread) -> dict[str, Any]:
    response = client.get(f"/api/threads/{thread.pk}/")
    assert response.status_code == 200, response.content
    return dict(response.json())


@pytest.fixture
def versions(alice: User, make_thread: MakeThread) -> tuple[Thread, Message, list[Message]]:
    """alice's thread: "Hello" answered three times, the first answer chosen again."""
    thread, run = make_thread(alice, content="Hello")
    prompt = run.messages.get(role="user")
    first = answered(run, "first answer")
    others = [regenerated(thread, prompt, f"answer number {i}") for i in (2, 3)]
    branch_services.branch_select_for(user_id=alice.pk, thread_id=thread.pk, message_id=first.pk)
    return thread, prompt, [first, *others]


def test_the_detail_is_the_branch_on_show_with_its_runs_and_steps(
    alice_client: Client, versions: tuple[Thread, Message, list[Message]]
) -> None:
    thread, prompt, (first, *others) = versions
    body = shown(alice_client, thread)
    assert [m["id"] for m in body["messages"]] == [prompt.pk, first.pk]
    assert [run["id"] for run in body["runs"]] == [first.run_id]
    assert [step["type"] for step in body["runs"][0]["steps"]] == ["message_creation"]
    replies = body["messages"][0]["replies"]
    assert [v["message_id"] for v in replies["versions"]] == [first.pk] + [m.pk for m in others]
    assert replies["index"] == 0
    assert "answer number" not in str(body)


def test_the_detail_costs_as_many_queries_whatever_the_versions(
    alice_client: Client, versions: tuple[Thread, Message, list[Message]]
) -> None:
    thread, prompt, (first, *_) = versions
    with CaptureQueriesContext(connection) as before:
        shown(alice_client, thread)
    for i in range(4):
        regenerated(thread, prompt, f"one more answer {i}")
    branch_services.branch_select_for(
        user_id=thread.owner_id, thread_id=thread.pk, message_id=first.pk
    )
    with CaptureQueriesContext(connection) as after:
        assert [m["id"] for m in shown(alice_client, thread)["messages"]] == [prompt.pk, first.pk]
    assert len(after.captured_queries) == len(before.captured_queries)


def test_bob_cannot_open_alices_thread(
    bob_client: Client, versions: tuple[Thread, Message, list[Message]]
) -> None:
    thread, _, _ = versions
    assert bob_client.get(f"/api/threads/{thread.pk}/").status_code == 404
