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
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from chat.fanout.redis import OUTAGE

logger = logging.getLogger(__name__)
ENDED = {"type": "session.ended"}  # handled by ThreadConsumer.session_ended


def session_group(session_key: str) -> str:
    return "session-" + hashlib.sha256(session_key.encode()).hexdigest()[:40]


@receiver(user_logged_out, dispatch_uid="chat.session_end")
def close_the_sessions_sockets(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    layer = get_channel_layer()
    if not session_key or layer is None:
        return
    try:
        async_to_sync(layer.group_send)(session_group(session_key), ENDED)
    except OUTAGE as exc:
        # The log-out itself succeeds; the session's sockets then close at their next
        # reconnect, which finds no session.
        logger.warning("log-out: sockets not told (%s)", type(exc).__name__)
