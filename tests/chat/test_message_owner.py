"""Every message carries its thread's owner (`Message.owner`), whichever way it is written:
PostgreSQL's search index finds a user's words by it, so a wrong owner would show one user's
text to another and a missing one would hide a message from its own user."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from chat.models import Assistant, Message, Run, Thread
from chat.search import schema
from tests.chat.v1_client import V1

MakeThread = Callable[..., tuple[Thread, Run]]


def owners(thread: Thread) -> set[int | None]:
    return set(Message.objects.filter(thread=thread).values_list("owner_id", flat=True))


@pytest.mark.django_db
@pytest.mark.usefixtures("engine")  # the reply's row: tests/chat/runs/test_engine.py
def test_a_message_sent_in_the_chat_carries_its_owner(alice: User, alice_client: Client) -> None:
    response = alice_client.post(
        "/api/threads/", {"content": "a quiet lake"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert owners(Thread.objects.get(owner=alice)) == {alice.pk}


@pytest.mark.django_db
def test_a_message_added_through_the_assistants_api_carries_its_owner(alice: User) -> None:
    api = V1(alice)
    thread = api.post("/threads", {}).json()
    added = api.post(f"/threads/{thread['id']}/messages", {"role": "user", "content": "a lake"})
    assert added.status_code == 200, added.content
    assert owners(Thread.objects.get(owner=alice)) == {alice.pk}


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_owners_of_older_messages(
    alice: User, bob: User, make_thread: MakeThread
) -> None:
    # A flushed database (a transactional test) has lost the default assistant.
    Assistant.objects.update_or_create(is_default=True, defaults={"name": "A", "model": "m"})
    alices, _ = make_thread(alice, content="a lake")
    bobs, _ = make_thread(bob, content="a lake")
    Message.objects.update(owner=None)  # as the rows were before migration 0011
    with connection.schema_editor(atomic=False) as editor:
        schema.fill_owners(None, editor)
    assert (owners(alices), owners(bobs)) == ({alice.pk}, {bob.pk})
