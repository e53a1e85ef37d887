"""Logging out closes the sockets that session opened, in every server process.

A socket is authenticated once, at its handshake; without this, one opened before a log-out
went on receiving the thread's frames. Each socket joins a group of the channel layer named
after its session (a hash of the session key: the key itself is a credential and group names
live in Redis). Django's `user_logged_out` signal, sent while the session still has its key,
tells that group, and each socket closes with 4401, which the page reads as "logged out".
In one process the layer is in memory; with REDIS_URL it is Redis, so a log-out served by one
process closes the sockets held by the others.

Only that session's sockets: a log-out ends one session, and the user's other browsers stay
logged in.

A user saved with a new password or a changed active flag (a password changed or reset, an
administrator's edit) may have ended the user's other sessions: every socket of the user
(each also joins a group named after its user) checks its own session two seconds on
(`ThreadConsumer.session_check` says why not at once), instead of at its next periodic check,
and those whose session no longer signs the user in close with 4401.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest

from chat.fanout.redis import OUTAGE

logger = logging.getLogger(__name__)
ENDED = {"type": "session.ended"}  # handled by ThreadConsumer.session_ended
CHECK = {"type": "session.check"}  # handled by ThreadConsumer.session_check
# The fields whose change can end a session: the password (its hash signs each session) and
# the active flag.
_CREDENTIALS = frozenset({"password", "is_active"})


def session_group(session_key: str) -> str:
    return "session-" + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def user_group(user_id: int) -> str:
    return f"user-{user_id}-sockets"


@receiver(user_logged_out, dispatch_uid="chat.session_end")
def close_the_sessions_sockets(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        # Should Redis be away, the session's sockets close at their next reconnect, which
        # finds no session.
        _tell(session_group(session_key), ENDED, "log-out")


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="chat.session_end.user")
def check_the_users_sockets(
    sender: Any, instance: Any, created: bool, update_fields: Any, **kwargs: Any
) -> None:
    if created or (update_fields is not None and not _CREDENTIALS & set(update_fields)):
        return  # a new user has no socket; a login's `last_login` changes no credential
    # Once committed: a socket that checked before would still find the old password's hash.
    group = user_group(instance.pk)
    transaction.on_commit(lambda: _tell(group, CHECK, f"user {instance.pk} saved"))


def _tell(group: str, message: dict[str, Any], why: str) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except OUTAGE as exc:
        # What changed is saved whatever; the sockets check their session at their next
        # periodic check (WS_SESSION_CHECK_SECONDS).
        logger.warning("%s: sockets not told (%s)", why, type(exc).__name__)
