"""A socket's session, checked again while the socket stays open.

A socket is authenticated once, at its handshake. A log-out closes its session's sockets at
once (`chat.session_end`); a session that ends any other way did not close them: changing the
password (Django then signs every other session out), an administrator deactivating the
account, a session expiring or deleted on the server. Its sockets went on receiving the
thread's frames. So the session is read again from its store and judged by Django's own
`get_user`, as the next page request would judge it: every WS_SESSION_CHECK_SECONDS at a
heartbeat, and two seconds after the user is saved with a new password or active flag
(`chat.session_end` tells the user's sockets; `ThreadConsumer.session_check`).
A password changed in the same browser gives that browser's session a new key: its sockets
close too, and the page, still signed in by its cookie, reconnects (static/chat/socket.js).
"""

from __future__ import annotations

import logging
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user

logger = logging.getLogger(__name__)


async def still_signed_in(scope: dict[str, Any]) -> bool:
    """False only when the socket's session no longer signs its user in. A socket with no
    session (none to check) and a store that cannot be read (a database down) say True:
    an outage must not close every socket."""
    user = scope.get("user")
    session_key = getattr(scope.get("session"), "session_key", None)
    if session_key is None or user is None:
        return True
    try:
        return bool(await database_sync_to_async(_signs_in)(session_key, user.pk))
    except Exception as exc:
        logger.warning("socket session check skipped: %s", exc)
        return True


def _signs_in(session_key: str, user_id: int) -> bool:
    # A new store, not the scope's: that one holds what was read at the handshake.
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(SimpleNamespace(session=store))  # type: ignore[arg-type]
    return bool(user.is_authenticated and user.pk == user_id)
