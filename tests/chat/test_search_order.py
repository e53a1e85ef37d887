"""The order search answers in, on SQLite and PostgreSQL alike: titles first, whole words
before words they start, newest first within each, no result twice, and the limit counted
on the user's own results only (bob's newer text never takes alice's places)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from chat.models import Message, Run, Thread
from chat.search import postgres

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=[postgres.RECENT, 1], ids=["recent", "gin"])
def recent(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL, the newest messages are read one by one, and when they hold too few
    matches every match is found through the GIN index: each test again with only the
    newest message read one by one."""
    monkeypatch.setattr(postgres, "RECENT", request.param)


MakeThread = Callable[..., tuple[Thread, Run]]


def results(client: Client, query: str, limit: int = 20) -> list[dict[str, Any]]:
    response = client.get("/api/search/", {"q": query, "limit": str(limit)})
    assert response.status_code == 200, response.content
    return list(response.json()["results"])


def said(make_thread: MakeThread, owner: User, *texts: str) -> list[int]:
    """One thread per text, oldest first, titled with none of its words; the ids of their
    user messages."""
    ids = []
    for text in texts:
        thread, run = make_thread(owner, content=text, status="completed")
        Thread.objects.filter(pk=thread.pk).update(title="Untitled")
        ids.append(Message.objects.get(run=run, role="user").pk)
    return ids


def message_ids(found: list[dict[str, Any]]) -> list[int | None]:
    return [hit["message_id"] for hit in found]


def test_newest_first(alice: User, alice_client: Client, make_thread: MakeThread) -> None:
    first, second, third = said(make_thread, alice, "a lake", "the lake", "one lake")
    assert message_ids(results(alice_client, "lake")) == [third, second, first]


def test_whole_words_come_before_the_words_they_start(
    alice: User, alice_client: Client, make_thread: MakeThread
) -> None:
    old_whole, longer, new_whole = said(
        make_thread, alice, "by the river", "two rivers meet", "the river again"
    )
    assert message_ids(results(alice_client, "river")) == [new_whole, old_whole, longer]
    # Cut by the limit: the prefix is never asked for, or adds only what fits.
    assert message_ids(results(alice_client, "river", limit=2)) == [new_whole, old_whole]
    assert message_ids(results(alice_client, "river", limit=3)) == [new_whole, old_whole, longer]


def test_short_prefixes_find_the_words_they_start(
    alice: User, alice_client: Client, make_thread: MakeThread
) -> None:
    [delta] = said(make_thread, alice, "the Mekong delta")
    for typed in ("me", "mek", "meko", "mekong"):
        assert message_ids(results(alice_client, typed)) == [delta], typed


def test_titles_come_first_and_can_fill_the_page(
    alice: User, alice_client: Client, make_thread: MakeThread
) -> None:
    [older, newer] = said(make_thread, alice, "canal boats", "canal locks")
    Thread.objects.filter(messages__pk=older).update(title="Canals")
    found = results(alice_client, "canal")
    assert [(hit["role"], hit["message_id"]) for hit in found] == [
        ("title", None), ("user", newer), ("user", older)
    ]  # fmt: skip
    assert [hit["role"] for hit in results(alice_client, "canal", limit=1)] == ["title"]


def test_bobs_newer_text_never_takes_alices_places(
    alice: User, bob: User, alice_client: Client, bob_client: Client, make_thread: MakeThread
) -> None:
    alices = said(make_thread, alice, "a fjord", "fjords of the north")
    bobs = said(make_thread, bob, *[f"fjord number {i}" for i in range(5)], "fjordland")
    assert message_ids(results(alice_client, "fjord", limit=2)) == alices  # the whole word first
    assert message_ids(results(alice_client, "fjo", limit=2)) == alices[::-1]
    assert set(message_ids(results(bob_client, "fjord"))) == set(bobs)
    said(make_thread, bob, "only bob says estuary")
    assert results(alice_client, "estuary") == []
    assert results(alice_client, "estu") == []
