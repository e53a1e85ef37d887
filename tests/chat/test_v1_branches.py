"""GET /v1/threads/{id}/messages lists the branch on show (what the web page shows after a
regenerate, an edit-and-resend or a switch), page by page; other branches stay readable by
id."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from chat.models import Message, Run, Thread
from tests.chat.v1_client import V1

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _engine(engine: Any) -> Any:
    return engine  # runs started by the web API are recorded, never executed


def post(client: Client, url: str, body: Any = None) -> Any:
    response = client.post(url, json.dumps(body or {}), content_type="application/json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def answered(run_id: int, text: str) -> Message:
    run = Run.objects.get(pk=run_id)
    Run.objects.filter(pk=run.pk).update(status="completed")
    parent = run.prompt_id or run.messages.get(role="user").pk
    return Message.objects.create(
        thread_id=run.thread_id, run=run, parent_id=parent, role="assistant", content=text,
        status="completed",
    )  # fmt: skip


def listed(api: V1, thread: Thread, order: str = "asc", limit: int = 1) -> list[str]:
    """Every message of the list, walked page by page, oldest first."""
    texts: list[str] = []
    after: dict[str, str] = {}
    while True:
        page = api.get(f"/threads/thread_{thread.pk}/messages", order=order, limit=limit, **after)
        assert page.status_code == 200, page.content
        body = page.json()
        texts += [m["content"][0]["text"]["value"] for m in body["data"]]
        if not body["has_more"]:
            return texts if order == "asc" else texts[::-1]
        after = {"after": body["last_id"]}


def test_the_list_follows_the_branch_on_show(
    alice: User, alice_client: Client, make_thread: Callable[..., tuple[Thread, Run]]
) -> None:
    thread, run = make_thread(alice, content="Hello")
    hello, first = run.messages.get(role="user"), answered(run.pk, "Hi there")
    base, api = f"/api/threads/{thread.pk}", V1(alice)
    answered(post(alice_client, f"{base}/messages/{hello.pk}/regenerate/")["run"]["id"], "B")
    for order in ("asc", "desc"):
        assert listed(api, thread, order) == ["Hello", "B"]
    post(alice_client, f"{base}/branch/", {"message_id": first.pk})
    assert listed(api, thread) == listed(api, thread, "desc", 20) == ["Hello", "Hi there"]
    resent = post(alice_client, f"{base}/messages/{hello.pk}/resend/", {"content": "Morning"})
    answered(resent["run"]["id"], "Good morning")
    assert listed(api, thread) == listed(api, thread, "desc") == ["Morning", "Good morning"]
    # A message of another branch is still found by its id.
    other = api.get(f"/threads/thread_{thread.pk}/messages/msg_{first.pk}")
    assert other.status_code == 200


def test_a_message_added_over_the_api_goes_on_and_shows_the_branch_on_show(
    alice: User, alice_client: Client, make_thread: Callable[..., tuple[Thread, Run]]
) -> None:
    thread, run = make_thread(alice, content="Hello")
    hello, first = run.messages.get(role="user"), answered(run.pk, "Hi there")
    base, api = f"/api/threads/{thread.pk}", V1(alice)
    answered(post(alice_client, f"{base}/messages/{hello.pk}/regenerate/")["run"]["id"], "B")
    post(alice_client, f"{base}/branch/", {"message_id": first.pk})
    added = api.post(f"/threads/thread_{thread.pk}/messages", {"role": "user", "content": "And?"})
    assert added.status_code == 200
    assert listed(api, thread, "desc", 2) == ["Hello", "Hi there", "And?"]
