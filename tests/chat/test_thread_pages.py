"""GET /api/threads/ a page at a time: newest first, every thread once across pages (ties on
the time included), bad cursors and limits refused, and only the user's own threads."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from chat.models import Run, Thread

pytestmark = pytest.mark.django_db

MakeThread = Callable[..., tuple[Thread, Run]]


def pages(client: Client, limit: int) -> list[list[int]]:
    found, cursor = [], None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = client.get("/api/threads/" + query).json()
        found.append([thread["id"] for thread in body["threads"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def test_pages_list_every_thread_once_newest_first(
    alice: User, alice_client: Client, make_thread: MakeThread
) -> None:
    ids = [make_thread(alice, content=f"t{i}")[0].pk for i in range(5)]
    newest = ids[::-1]
    assert pages(alice_client, 2) == [newest[0:2], newest[2:4], newest[4:]]
    assert pages(alice_client, 50) == [newest]


def test_threads_touched_at_the_same_instant_are_neither_lost_nor_repeated(
    alice: User, alice_client: Client, make_thread: MakeThread
) -> None:
    ids = [make_thread(alice, content=f"t{i}")[0].pk for i in range(7)]
    Thread.objects.update(updated_at=timezone.now())
    listed = [pk for page in pages(alice_client, 3) for pk in page]
    assert listed == sorted(ids, reverse=True)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("?cursor=not-a-cursor", "invalid_cursor"),
        ("?cursor=MjAyNi0wMS0wMXwx", "invalid_cursor"),  # a time with no zone
        ("?limit=0", "invalid_limit"),
        ("?limit=101", "invalid_limit"),
        ("?limit=ten", "invalid_limit"),
        ("?limit=-1", "invalid_limit"),
    ],
)
def test_a_bad_cursor_or_limit_is_refused(alice_client: Client, query: str, code: str) -> None:
    response = alice_client.get("/api/threads/" + query)
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)


def test_bob_pages_through_his_own_threads_only(
    alice: User, bob: User, bob_client: Client, alice_client: Client, make_thread: MakeThread
) -> None:
    for i in range(3):
        make_thread(alice, content=f"alice {i}")
    mine = make_thread(bob, content="bob")[0].pk
    alice_cursor = alice_client.get("/api/threads/?limit=1").json()["next_cursor"]
    assert pages(bob_client, 1) == [[mine]]
    # Alice's cursor in Bob's hands pages through Bob's threads: his one thread is newer
    # than the place it marks, so nothing, and none of hers.
    body = bob_client.get(f"/api/threads/?cursor={alice_cursor}").json()
    assert body == {"threads": [], "next_cursor": None}
