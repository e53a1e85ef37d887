"""What a thread socket holds on behalf of its user, from its handshake to its close: a place
under the user's socket cap (`chat.socket_cap`), a seat in its session's group, through which
a log-out closes it, and one in its user's group, through which a change of the user's
password or active flag makes it check its session (`chat.session_end`)."""

from __future__ import annotations

import logging

from channels.layers import get_channel_layer

from chat import socket_cap
from chat.fanout.redis import OUTAGE
from chat.session_end import session_group, user_group

logger = logging.getLogger(__name__)


class SocketTenancy:
    def __init__(self, user_id: int, session_key: str | None, channel_name: str) -> None:
        self.user_id = user_id
        self.channel_name = channel_name
        self.groups = [user_group(user_id)] + ([session_group(session_key)] if session_key else [])
        self.admitted = False

    async def enter(self) -> bool:
        """Take a place and a seat; False when the user already has the most sockets open."""
        self.admitted = await socket_cap.admit(self.user_id, self.channel_name)
        if self.admitted:
            await self._groups("group_add")
        return self.admitted

    async def renew(self) -> None:
        await socket_cap.renew(self.user_id, self.channel_name)

    async def leave(self) -> None:
        if not self.admitted:
            return
        self.admitted = False
        await socket_cap.release(self.user_id, self.channel_name)
        await self._groups("group_discard")

    async def _groups(self, operation: str) -> None:
        layer = get_channel_layer()
        try:
            for group in self.groups:
                await getattr(layer, operation)(group, self.channel_name)
        except OUTAGE as exc:
            logger.warning("user %s: session groups not joined or left (%s)", self.user_id, exc)
