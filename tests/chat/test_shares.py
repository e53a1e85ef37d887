"""Share links: a logged-out reader sees the branch on show when the link was made, read
only; a revoked link shows nothing; bob can neither share nor revoke alice's thread."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from chat import branch_services
from chat.models import Message, Run, Thread, ThreadShare

pytestmark = pytest.mark.django_db

MakeThread = Callable[..., tuple[Thread, Run]]


@pytest.fixture
def exchange(alice: User, make_thread: MakeThread) -> tuple[Thread, Message]:
    thread, run = make_thread(alice, content="Tell me about rivers", status="completed")
    user = run.messages.get(role="user")
    reply = Message.objects.create(
        thread=thread, run=run, parent=user, role="assistant", content="Rivers <b>flow</b>.",
        status="completed",
    )  # fmt: skip
    Thread.objects.filter(pk=thread.pk).update(leaf=reply, title="Rivers")
    return Thread.objects.get(pk=thread.pk), user


def share(client: Client, thread: Thread) -> str:
    response = client.post(f"/api/threads/{thread.pk}/share/")
    assert response.status_code == 201
    url = str(response.json()["url"])
    assert len(response.json()["token"]) >= 43  # 32 random bytes
    return url.split("testserver", 1)[1]


def test_a_logged_out_reader_sees_the_branch_shared(
    alice: User, alice_client: Client, exchange: tuple[Thread, Message]
) -> None:
    thread, user = exchange
    path = share(alice_client, thread)
    # Later the owner answers again: the link still shows what was shared.
    run = branch_services.run_regenerate_for(
        user_id=alice.pk, thread_id=thread.pk, message_id=user.pk
    )
    Message.objects.create(
        thread=thread, run=run, parent=user, role="assistant", content="A newer answer",
        status="completed",
    )  # fmt: skip
    page = Client().get(path)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Tell me about rivers" in text and "Rivers &lt;b&gt;flow&lt;/b&gt;." in text
    assert "A newer answer" not in text
    assert "<form" not in text and "<textarea" not in text  # read only: no way to write


def test_a_revoked_link_shows_nothing(
    alice_client: Client, exchange: tuple[Thread, Message]
) -> None:
    thread, _ = exchange
    path = share(alice_client, thread)
    assert alice_client.delete(f"/api/threads/{thread.pk}/share/").status_code == 204
    page = Client().get(path)
    assert page.status_code == 404
    assert b"Tell me about rivers" not in page.content
    assert ThreadShare.objects.get().revoked_at is not None


def test_an_unknown_token_is_not_found(client: Client, exchange: tuple[Thread, Message]) -> None:
    assert client.get("/s/not-a-token/").status_code == 404


def test_bob_can_neither_share_nor_revoke_alices_thread(
    alice_client: Client, bob_client: Client, exchange: tuple[Thread, Message]
) -> None:
    thread, _ = exchange
    path = share(alice_client, thread)
    assert bob_client.post(f"/api/threads/{thread.pk}/share/").status_code == 404
    assert bob_client.delete(f"/api/threads/{thread.pk}/share/").status_code == 404
    assert ThreadShare.objects.count() == 1
    assert Client().get(path).status_code == 200  # still alice's to revoke
