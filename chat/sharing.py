"""Read-only share links: a thread's branch on show, for anyone holding the link's token,
until the owner revokes it. The token is 32 random bytes (unguessable); the branch is the
one on show when the link was made (`message_ids`), whatever the thread does later. After
revocation the link answers 404, exactly like a token that never existed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from chat import selectors
from chat.errors import NotFound
from chat.models import Message, Thread, ThreadShare
from chat.selectors import AnyUser


def share_create(*, user: AnyUser, thread_id: int) -> ThreadShare:
    """A new link to the user's thread, showing its branch on show now."""
    detail = selectors.thread_detail(user=user, thread_id=thread_id)
    return ThreadShare.objects.create(
        thread=detail.thread,
        token=secrets.token_urlsafe(32),
        message_ids=[message.pk for message in detail.messages],
    )


def share_revoke(*, user: AnyUser, thread_id: int) -> int:
    """Revoke every live link to the user's thread; how many there were."""
    thread = selectors.thread_get(user=user, thread_id=thread_id)
    with transaction.atomic():
        live = ThreadShare.objects.filter(thread=thread, revoked_at__isnull=True)
        return live.update(revoked_at=timezone.now())


@dataclass(frozen=True)
class SharedThread:
    thread: Thread
    messages: list[Message]


def shared_thread(*, token: str) -> SharedThread:
    """What a live link shows; NotFound for a revoked or unknown one."""
    share = (
        ThreadShare.objects.select_related("thread")
        .filter(token=token, revoked_at__isnull=True)
        .first()
    )
    if share is None:
        raise NotFound("No such link, or it was revoked.")
    messages = Message.objects.filter(thread_id=share.thread_id, pk__in=share.message_ids)
    return SharedThread(share.thread, list(messages.order_by("pk")))
