"""The WebSocket consumer: protocol translation between a browser and the run engine's hub.

A socket watches one thread. It first replays the active run's log (or resumes after the
`after_seq` it names), then follows live frames. Every frame, replayed or live, goes out
through `_send_through`, which sends a run's frames strictly in seq order from the log: a live
frame that overtakes the replay makes the consumer send the missing ones first, and a frame
already sent is never sent again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from chat import selectors
from chat.errors import NotFound
from chat.fanout import redis as fanout_redis
from chat.fanout.runlog import Hub, RunLog, event_frame
from chat.models import Run
from chat.runs import get_engine
from chat.socket_frames import parse_frame, resume_query, whole_number
from chat.socket_session import still_signed_in
from chat.socket_tenancy import SocketTenancy

CLOSE_UNAUTHENTICATED = 4401  # not logged in, or the session logged out
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY_SOCKETS = 4429  # the user has WS_MAX_SOCKETS_PER_USER open already
CLOSE_TOO_BIG = 1009
# How long after a change of the user's password a socket checks its session. The request that
# changed it moves its own session to a new key just after saving the user, and that browser
# must hold the new cookie before this close makes the page ask whether it is still signed in
# (it is, and reconnects); checked at once, the page asked with the old cookie, and logged out.
SESSION_CHECK_DELAY = 2.0
# The scope key under which `config.asgi` hands the consumer the server's `send` callable.
# Channels' session middleware wraps `send` to save the session on accept and close; a frame
# has nothing to save, and with hundreds of frames a second per process the wrappers cost.
SERVER_SEND = "chat.server_send"


class ThreadConsumer(AsyncWebsocketConsumer):
    thread_id: int
    tenancy: SocketTenancy | None = None

    async def connect(self) -> None:
        self.next_seq: dict[int, int] = {}
        self._server_send = self.scope.get(SERVER_SEND) or self.base_send
        self.thread_id = int(self.scope["url_route"]["kwargs"]["thread_id"])
        self.hub: Hub = get_engine().hub
        code, active_run = await self._admission()
        await self.accept()
        if code is not None:
            # Accept, then close with a reason: a refused handshake looks to a browser like a
            # network failure, and it would try to reconnect for ever.
            await self.close(code=code)
            return
        resume = resume_query(self.scope.get("query_string", b""))
        if resume is not None and resume[0] is not None and resume[1] is not None:
            # Before following: a live frame delivered meanwhile must not go out from seq 1.
            self.next_seq[resume[0]] = resume[1] + 1
        await self.hub.follow(self.thread_id, self)
        self._following = True
        self._session_checked_at = asyncio.get_running_loop().time()
        self._schedule_heartbeat()
        await self._replay_on_connect(active_run)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "_following", False):
            await self.hub.unfollow(self.thread_id, self)
        if getattr(self, "_beat", None) is not None:
            self._beat.cancel()
        if self.tenancy is not None:
            await self.tenancy.leave()

    def _schedule_heartbeat(self) -> None:
        # A timer, not a task per socket: idle sockets must stay cheap. The frame keeps
        # proxies (nginx's proxy_read_timeout) from closing a quiet connection.
        loop = asyncio.get_running_loop()
        self._beat = loop.call_later(settings.WS_HEARTBEAT_SECONDS, self._heartbeat)

    def _heartbeat(self) -> None:
        self._beat_task = asyncio.ensure_future(self._send_heartbeat())
        self._schedule_heartbeat()

    async def _send_heartbeat(self) -> None:
        if not await self._session_holds():
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self._frame("heartbeat", None, {})
        await self.hub.follow(self.thread_id, self)  # renews what following needs
        if self.tenancy is not None:
            await self.tenancy.renew()

    async def _session_holds(self) -> bool:
        # Every WS_SESSION_CHECK_SECONDS, not every beat: a read of the session store each.
        now = asyncio.get_running_loop().time()
        if now - self._session_checked_at < settings.WS_SESSION_CHECK_SECONDS:
            return True
        self._session_checked_at = now
        return await still_signed_in(self.scope)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw) * 4 > settings.WS_MAX_FRAME_BYTES and _size(raw) > settings.WS_MAX_FRAME_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
            return
        frame = parse_frame(raw)
        handler = _HANDLERS.get(str(frame.get("type"))) if frame is not None else None
        if frame is None or handler is None:
            await self._error("bad_frame", "expected a JSON object with a known 'type'")
            return
        await handler(self, frame)

    # -- delivery ------------------------------------------------------------------------

    async def _send_through(self, log: RunLog, upto: int) -> None:
        # The hot path: every frame of every run passes here once per socket. It goes to the
        # server's own `send` (see `SERVER_SEND`), not through channels' wrappers.
        send, next_seq, run_id = self._server_send, self.next_seq, log.run_id
        while (seq := next_seq.get(run_id, 1)) <= upto:
            # Advance before the await: a frame delivered meanwhile then sees it as sent.
            next_seq[run_id] = seq + 1
            try:
                await send({"type": "websocket.send", "text": log.frame(seq)})
            except (OSError, RuntimeError):
                # The socket is closing: the server refuses the send (ASGI says an OSError;
                # daphne raises autobahn's `Disconnected`, a RuntimeError). Stop following:
                # the run and the other sockets go on, and the browser resumes from its
                # last seq when it reconnects.
                self.hub.unsubscribe(self.thread_id, self)
                return

    deliver = _send_through  # what the hub calls with each new seq (`runlog.Subscriber`)

    async def _replay_on_connect(self, active_run: int | None) -> None:
        resume = resume_query(self.scope.get("query_string", b""))
        if resume is not None:
            run_id, after_seq = resume
            if run_id is None or after_seq is None:
                await self._error("bad_frame", "run_id and after_seq must be integers >= 0")
            else:
                # The claim `connect` made before following: `_resume` makes it again (no
                # await between), knowing that nothing was sent before it.
                self.next_seq.pop(run_id, None)
                await self._resume(run_id, after_seq)
            return
        log = self.hub.active_log(self.thread_id)
        if log is None and active_run is not None:
            log = self.hub.watch(active_run, self.thread_id)  # executing in another process
        if log is not None:
            await self._send_through(log, log.last_seq)

    async def _resume(self, run_id: int, after_seq: int) -> None:
        # Set before any await: a frame delivered meanwhile must not go out from seq 1.
        before, self.next_seq[run_id] = self.next_seq.get(run_id), after_seq + 1
        log = self.hub.log(run_id)
        if log is None or log.thread_id != self.thread_id:
            status = await self._run_status(run_id)
            if status is None:
                await self._error("not_found", "no such run in this thread", run_id=run_id)
                return
            log = self.hub.watch(run_id, self.thread_id) if status in Run.ACTIVE_STATUSES else None
            if log is None:  # not live here: its final state is in the database
                await self._frame("resync", run_id, {"id": run_id, "status": status})
                return
        if _past_the_end(log, after_seq):
            self._restore_next_seq(run_id, before)
            message = f"after_seq {after_seq} is past the run's last event ({log.last_seq})"
            await self._error("bad_frame", message, run_id=run_id)
            return
        await self._send_through(log, log.last_seq)

    def _restore_next_seq(self, run_id: int, before: int | None) -> None:
        if before is None:
            self.next_seq.pop(run_id, None)
        else:
            self.next_seq[run_id] = before

    # -- control messages from the hub or other processes' (channel layer) ---------------

    async def run_started(self, message: dict[str, Any]) -> None:
        """A run of this thread was queued or started, maybe in another process."""
        run_id = whole_number(message.get("run_id"))
        log = self.hub.watch(run_id, self.thread_id) if run_id is not None else None
        if log is not None:
            await self._send_through(log, log.last_seq)

    async def branch_switched(self, message: dict[str, Any]) -> None:
        """Another tab (or this one) switched the thread's branch: the page reloads it."""
        await self._frame("thread.branch", None, {"leaf_id": whole_number(message.get("leaf_id"))})

    async def thread_titled(self, message: dict[str, Any]) -> None:
        """The thread got its title from its first exchange (`chat.runs.titles`)."""
        await self._frame("thread.title", None, {"title": str(message.get("title") or "")})

    async def session_ended(self, message: dict[str, Any]) -> None:
        """The session that opened this socket logged out (`chat.session_end`)."""
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def session_check(self, message: dict[str, Any]) -> None:
        """The user's password or active flag changed (`chat.session_end`): the session may
        have ended with it. Checked at a heartbeat brought forward to SESSION_CHECK_DELAY."""
        self._session_checked_at = float("-inf")  # due at the next beat
        loop, beat = asyncio.get_running_loop(), getattr(self, "_beat", None)
        if beat is not None and beat.when() > loop.time() + SESSION_CHECK_DELAY:
            beat.cancel()
            self._beat = loop.call_later(SESSION_CHECK_DELAY, self._heartbeat)

    async def run_settled(self, message: dict[str, Any]) -> None:
        """A run was settled without its stream (its process died): when its final frames
        could not be appended, the browser takes the final state from the database."""
        run_id = whole_number(message.get("run_id"))
        log = self.hub.log(run_id) if run_id is not None else None
        if run_id is None or message.get("stream") or (log is not None and log.ended):
            return
        if log is not None:
            self.hub.close_log(log)
        status = await self._run_status(run_id)
        await self._frame("resync", run_id, {"id": run_id, "status": status})

    # -- client frames -------------------------------------------------------------------

    async def _on_resume(self, frame: dict[str, Any]) -> None:
        run_id, after_seq = whole_number(frame.get("run_id")), whole_number(frame.get("after_seq"))
        if run_id is None or after_seq is None:
            await self._error("bad_frame", "resume needs integer run_id and after_seq >= 0")
            return
        await self._resume(run_id, after_seq)

    async def _on_cancel(self, frame: dict[str, Any]) -> None:
        run_id = whole_number(frame.get("run_id"))
        status = await self._run_status(run_id or 0)
        if run_id is None or status is None:
            await self._error("not_found", "no such run in this thread", run_id=run_id)
        elif not await get_engine().cancel(run_id):
            await self._error("run_ended", "the run is not running", run_id=run_id)

    async def _on_ping(self, frame: dict[str, Any]) -> None:
        await self._frame("pong", None, {})

    async def _frame(self, event: str, run_id: int | None, data: dict[str, Any]) -> None:
        await self.send(text_data=event_frame(event, run_id, None, data))

    async def _error(self, code: str, message: str, *, run_id: int | None = None) -> None:
        await self._frame("error", run_id, {"code": code, "message": message})

    async def _admission(self) -> tuple[int | None, int | None]:
        """(the close code refusing the socket, or None; the thread's active run)"""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return CLOSE_UNAUTHENTICATED, None
        try:
            active = await database_sync_to_async(selectors.thread_active_run_id)(
                user=user, thread_id=self.thread_id
            )
        except NotFound:
            return CLOSE_NOT_FOUND, None
        session_key = getattr(self.scope.get("session"), "session_key", None)
        self.tenancy = SocketTenancy(user.pk, session_key, self.channel_name)
        if not await self.tenancy.enter():
            return CLOSE_TOO_MANY_SOCKETS, None
        return None, active

    async def _run_status(self, run_id: int) -> str | None:
        return await database_sync_to_async(selectors.run_status)(
            thread_id=self.thread_id, run_id=run_id
        )


_HANDLERS = {
    "resume": ThreadConsumer._on_resume,
    "cancel": ThreadConsumer._on_cancel,
    "ping": ThreadConsumer._on_ping,
}


def _past_the_end(log: RunLog, after_seq: int) -> bool:
    """True when nothing after `after_seq` will ever be in the log. A log that has ended is
    complete; so is one in a single process. With runs across processes, a live log mirrored
    from another process's stream may lag behind what a browser saw through that process."""
    complete = log.ended or not fanout_redis.enabled()
    return complete and after_seq > log.last_seq


def _size(raw: str) -> int:
    return len(raw.encode("utf-8"))
