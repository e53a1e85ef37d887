"""Export: a thread as JSON (every branch, runs, steps, usage) and as Markdown (the branch on
show), all threads as a zip; bob gets nothing of alice's."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from chat import branch_services
from chat.models import Message, Run, Thread

pytestmark = pytest.mark.django_db

MakeThread = Callable[..., tuple[Thread, Run]]


@pytest.fixture
def branched(alice: User, make_thread: MakeThread) -> tuple[Thread, Message, Message]:
    """alice's "Rivers" thread: a message answered twice (the second version on show), the
    first run with a tool call and usage."""
    thread, run = make_thread(alice, content="Tell me about rivers", status="completed")
    Thread.objects.filter(pk=thread.pk).update(title="Rivers")
    Run.objects.filter(pk=run.pk).update(prompt_tokens=10, completion_tokens=5, total_tokens=15)
    run.steps.create(type="tool_calls", step_details={"tool_calls": [{"id": "call_1"}]})
    user = run.messages.get(role="user")
    first = Message.objects.create(
        thread=thread, run=run, parent=user, role="assistant", content="Old answer",
        status="completed",
    )  # fmt: skip
    again = branch_services.run_regenerate_for(
        user_id=alice.pk, thread_id=thread.pk, message_id=user.pk
    )
    Run.objects.filter(pk=again.pk).update(status="completed")
    second = Message.objects.create(
        thread=thread, run=again, parent=user, role="assistant", content="New answer",
        status="completed",
    )  # fmt: skip
    Thread.objects.filter(pk=thread.pk).update(leaf=second)
    return Thread.objects.get(pk=thread.pk), first, second


def test_json_holds_every_branch_run_step_and_usage(
    alice_client: Client, branched: tuple[Thread, Message, Message]
) -> None:
    thread, first, second = branched
    response = alice_client.get(f"/api/threads/{thread.pk}/export/?format=json")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{thread.pk}-rivers.json"'
    data = json.loads(response.content)
    assert data["thread"]["title"] == "Rivers"
    contents = [m["content"] for m in data["messages"]]
    assert contents == ["Tell me about rivers", "Old answer", "New answer"]
    assert {m["id"]: m["parent_id"] for m in data["messages"]}[first.pk] == second.parent_id
    assert data["branch"] == [second.parent_id, second.pk]
    [old_run, new_run] = data["runs"]
    assert old_run["usage"]["total_tokens"] == 15
    assert old_run["steps"][0]["step_details"]["tool_calls"] == [{"id": "call_1"}]
    assert new_run["id"] == second.run_id


def test_markdown_is_the_branch_on_show(
    alice_client: Client, branched: tuple[Thread, Message, Message]
) -> None:
    thread, _, _ = branched
    response = alice_client.get(f"/api/threads/{thread.pk}/export/?format=md")
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("# Rivers\n")
    assert "## You\n\nTell me about rivers" in text and "## Assistant\n\nNew answer" in text
    assert "Old answer" not in text


def test_markdown_marks_a_cut_off_reply_and_closes_its_code_block(
    alice: User, alice_client: Client, make_thread: MakeThread
) -> None:
    thread, run = make_thread(alice, content="Some code", status="cancelled")
    user = run.messages.get(role="user")
    Message.objects.create(
        thread=thread, run=run, parent=user, role="assistant", status="incomplete",
        content="Here:\n\n```python\ndef f():\n    return",
    )  # fmt: skip
    text = alice_client.get(f"/api/threads/{thread.pk}/export/?format=md").content.decode()
    reply = text.split("## Assistant\n\n", 1)[1]
    assert reply.startswith("Here:\n\n```python\ndef f():\n    return\n```\n\n*(This reply")
    assert "incomplete" in reply


def test_the_archive_holds_each_of_the_users_threads(
    alice: User, alice_client: Client, make_thread: MakeThread,
    branched: tuple[Thread, Message, Message],
) -> None:  # fmt: skip
    other, _ = make_thread(alice, content="Hello")
    response = alice_client.get("/api/export/")
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = sorted(archive.namelist())
    thread = branched[0]
    expected = [f"{thread.pk}-rivers.json", f"{thread.pk}-rivers.md"]
    assert names == sorted([*expected, f"{other.pk}-hello.json", f"{other.pk}-hello.md"])
    assert json.loads(archive.read(expected[0]))["thread"]["id"] == thread.pk


def test_a_bad_format_is_refused(
    alice_client: Client, branched: tuple[Thread, Message, Message]
) -> None:
    response = alice_client.get(f"/api/threads/{branched[0].pk}/export/?format=pdf")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_format")


def test_bob_exports_nothing_of_alices(
    bob: User, bob_client: Client, make_thread: MakeThread,
    branched: tuple[Thread, Message, Message],
) -> None:  # fmt: skip
    thread = branched[0]
    assert bob_client.get(f"/api/threads/{thread.pk}/export/?format=json").status_code == 404
    assert bob_client.get(f"/api/threads/{thread.pk}/export/?format=md").status_code == 404
    mine, _ = make_thread(bob, content="Bob's own")
    archive = zipfile.ZipFile(io.BytesIO(bob_client.get("/api/export/").content))
    assert sorted(archive.namelist()) == [f"{mine.pk}-bob-s-own.json", f"{mine.pk}-bob-s-own.md"]
    assert all(b"rivers" not in archive.read(name).lower() for name in archive.namelist())
