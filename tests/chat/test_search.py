"""Search over the user's own messages and titles, with the database's own full-text engine
(run on SQLite by default and on PostgreSQL with DATABASE_URL): words and prefixes found,
snippets marked, text saved later found, syntax in a query harmless, bob's text never."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from chat.models import Message, Run, Thread
from chat.runs.store import Checkpoint

pytestmark = pytest.mark.django_db

MakeThread = Callable[..., tuple[Thread, Run]]


def results(client: Client, query: str) -> list[dict[str, Any]]:
    response = client.get("/api/search/", {"q": query})
    assert response.status_code == 200, response.content
    return list(response.json()["results"])


def marked(result: dict[str, Any]) -> list[str]:
    return [part["text"] for part in result["snippet"] if part["match"]]


@pytest.fixture
def rivers(alice: User, make_thread: MakeThread) -> tuple[Thread, Message]:
    thread, run = make_thread(alice, content="Tell me about the Danube", status="completed")
    reply = Message.objects.create(
        thread=thread, run=run, role="assistant", status="completed",
        content="The Danube flows through ten countries before the Black Sea.",
    )  # fmt: skip
    return thread, reply


def test_a_word_finds_the_message_with_the_word_marked(
    alice_client: Client, rivers: tuple[Thread, Message]
) -> None:
    thread, reply = rivers
    found = results(alice_client, "countries")
    assert [(r["thread_id"], r["message_id"], r["run_id"]) for r in found] == [
        (thread.pk, reply.pk, reply.run_id)
    ]
    assert marked(found[0]) == ["countries"]
    assert "Danube flows through ten countries" in "".join(p["text"] for p in found[0]["snippet"])


def test_a_prefix_and_every_word_must_match(
    alice_client: Client, rivers: tuple[Thread, Message]
) -> None:
    assert {r["role"] for r in results(alice_client, "danu")} == {"title", "user", "assistant"}
    assert [r["role"] for r in results(alice_client, "danube black")] == ["assistant"]
    assert results(alice_client, "danube amazon") == []


def test_a_title_is_found_too(alice_client: Client, rivers: tuple[Thread, Message]) -> None:
    thread, _ = rivers
    Thread.objects.filter(pk=thread.pk).update(title="Rivers of Europe")
    [hit] = results(alice_client, "europe")
    assert (hit["thread_id"], hit["message_id"], hit["role"]) == (thread.pk, None, "title")
    assert marked(hit) == ["Europe"]


def test_text_saved_while_streaming_is_found(
    alice_client: Client, rivers: tuple[Thread, Message]
) -> None:
    _, reply = rivers
    # The engine's checkpoint: raw SQL, no ORM save (the index must follow it all the same).
    Checkpoint.run_batch([Checkpoint({"u": reply.pk}, "u", "Now about the Rhine delta")])
    assert [r["message_id"] for r in results(alice_client, "rhine")] == [reply.pk]
    assert results(alice_client, "countries") == []


@pytest.mark.parametrize(
    "query", ['"danube', "danube*", "(danube)", "-danube", "danube:", "^danube"]
)
def test_query_syntax_is_read_as_words(
    alice_client: Client, rivers: tuple[Thread, Message], query: str
) -> None:
    assert {r["role"] for r in results(alice_client, query)} == {"title", "user", "assistant"}
    # "OR" and "NEAR" are words here, which no message holds: nothing, and no error.
    assert results(alice_client, f"{query} OR NEAR(x") == []


@pytest.mark.parametrize(("query", "code"), [("", "empty_query"), ("  ?! ", "empty_query")])
def test_a_query_without_words_is_refused(alice_client: Client, query: str, code: str) -> None:
    response = alice_client.get("/api/search/", {"q": query})
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)


def test_bob_never_finds_alices_text(
    bob: User, bob_client: Client, make_thread: MakeThread, rivers: tuple[Thread, Message]
) -> None:
    assert results(bob_client, "danube") == []
    thread, _ = make_thread(bob, content="The Danube at Vienna")
    found = results(bob_client, "danube")
    assert {r["thread_id"] for r in found} == {thread.pk}


def test_the_engine_is_the_databases_own() -> None:
    # Which engine answered the tests above: the one of the connection in use.
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'chat_message_fts'")
        else:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE indexname = 'chat_message_search'"
            )
        assert cursor.fetchone() is not None
