"""The WebSocket consumer: protocol translation between a browser and the run engine's hub.

A socket watches one thread. It first replays the active run's log (or resumes after the
`after_seq` it names), then follows live frames. Every frame, replayed or live, goes out
through `_send_through`, which sends a run's frames strictly in seq order from the log: a live
frame that overtakes the replay makes the consumer send the missing ones first, and a frame
already sent is never sent again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from redis.exceptions import RedisError

from chat.engine import distributed, get_engine
from chat.engine.runlog import RunLog
from chat.models import Run, Thread

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_BIG = 1009
# The scope key under which `config.asgi` hands the consumer the server's `send` callable.
# Channels' session middleware wraps `send` to save the session on accept and close; a frame
# has nothing to save, and with hundreds of frames a second per process the wrappers cost.
SERVER_SEND = "chat.server_send"


class ThreadConsumer(AsyncWebsocketConsumer):
    thread_id: int

    async def connect(self) -> None:
        self.next_seq: dict[int, int] = {}
        self._server_send = self.scope.get(SERVER_SEND) or self.base_send
        self.thread_id = int(self.scope["url_route"]["kwargs"]["thread_id"])
        code = await self._refusal()
        await self.accept()
        if code is not None:
            # Accept, then close with a reason: a refused handshake looks to a browser like a
            # network failure, and it would try to reconnect for ever.
            await self.close(code=code)
            return
        get_engine().hub.subscribe(self.thread_id, self)
        if get_engine().distributed:
            await self._join_thread_group()
        self._schedule_heartbeat()
        await self._replay_on_connect()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "thread_id"):
            get_engine().hub.unsubscribe(self.thread_id, self)
            if getattr(self, "_in_group", False):
                await self._leave_thread_group()
        if getattr(self, "_beat", None) is not None:
            self._beat.cancel()

    def _schedule_heartbeat(self) -> None:
        # A timer, not a task per socket: idle sockets must stay cheap. The frame keeps
        # proxies (nginx's proxy_read_timeout) from closing a quiet connection.
        loop = asyncio.get_running_loop()
        self._beat = loop.call_later(settings.WS_HEARTBEAT_SECONDS, self._heartbeat)

    def _heartbeat(self) -> None:
        self._beat_task = asyncio.ensure_future(self._send_heartbeat())
        self._schedule_heartbeat()

    async def _send_heartbeat(self) -> None:
        await self._frame("heartbeat", None, {})
        if get_engine().distributed:
            # Group membership lives in Redis: renewing it lets a restarted Redis (which
            # forgot every group) reach this socket again within one heartbeat.
            await self._join_thread_group()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw) * 4 > settings.WS_MAX_FRAME_BYTES and _size(raw) > settings.WS_MAX_FRAME_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
            return
        frame = _parse_frame(raw)
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
                get_engine().hub.unsubscribe(self.thread_id, self)
                return

    deliver = _send_through  # what the hub calls with each new seq (`runlog.Subscriber`)

    async def _replay_on_connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        run_id, after_seq = _int(query.get("run_id")), _int(query.get("after_seq"))
        if run_id is not None:
            await self._resume(run_id, after_seq or 0)
        elif (log := get_engine().hub.active_log(self.thread_id)) is not None:
            await self._send_through(log, log.last_seq)
        elif get_engine().distributed:
            # The run may be executing in another process: follow its stream.
            active = await database_sync_to_async(_active_run)(self.thread_id)
            if active is not None:
                log = get_engine().hub.watch(active, self.thread_id)  # type: ignore[attr-defined]
                await self._send_through(log, log.last_seq)

    async def _resume(self, run_id: int, after_seq: int) -> None:
        self.next_seq[run_id] = after_seq + 1
        log = get_engine().hub.log(run_id)
        if log is not None and log.thread_id == self.thread_id:
            await self._send_through(log, log.last_seq)
            return
        status = await database_sync_to_async(_run_status)(self.thread_id, run_id)
        if status is None:
            await self._error("not_found", "no such run in this thread", run_id=run_id)
        elif get_engine().distributed and status in Run.ACTIVE_STATUSES:
            log = get_engine().hub.watch(run_id, self.thread_id)  # type: ignore[attr-defined]
            await self._send_through(log, log.last_seq)
        else:
            # The run is not live here: its final state is in the database.
            await self._frame("resync", run_id, {"id": run_id, "status": status})

    # -- control messages from other processes (channel layer, REDIS_URL only) -----------

    async def _join_thread_group(self) -> None:
        try:
            await self.channel_layer.group_add(
                distributed.thread_group(self.thread_id), self.channel_name
            )
            self._in_group = True
        except (OSError, RedisError) as exc:
            # Runs started elsewhere then reach this socket when it reconnects or resumes.
            logger.warning("thread %s: not following other processes (%s)", self.thread_id, exc)

    async def _leave_thread_group(self) -> None:
        with suppress(OSError, RedisError):
            await self.channel_layer.group_discard(
                distributed.thread_group(self.thread_id), self.channel_name
            )

    async def run_started(self, message: dict[str, Any]) -> None:
        """A run of this thread was queued or started, maybe in another process."""
        run_id = _int(message.get("run_id"))
        if run_id is not None:
            log = get_engine().hub.watch(run_id, self.thread_id)  # type: ignore[attr-defined]
            await self._send_through(log, log.last_seq)

    async def run_settled(self, message: dict[str, Any]) -> None:
        """A run was settled without its stream (its process died): when its final frames
        could not be appended, the browser takes the final state from the database."""
        run_id = _int(message.get("run_id"))
        hub = get_engine().hub
        log = hub.log(run_id) if run_id is not None else None
        if run_id is None or message.get("stream") or (log is not None and log.ended):
            return
        if log is not None:
            hub.close_log(log)
        status = await database_sync_to_async(_run_status)(self.thread_id, run_id)
        await self._frame("resync", run_id, {"id": run_id, "status": status})

    # -- client frames -------------------------------------------------------------------

    async def _on_resume(self, frame: dict[str, Any]) -> None:
        run_id, after_seq = _int(frame.get("run_id")), _int(frame.get("after_seq"))
        if run_id is None or after_seq is None or after_seq < 0:
            await self._error("bad_frame", "resume needs integer run_id and after_seq >= 0")
            return
        await self._resume(run_id, after_seq)

    async def _on_cancel(self, frame: dict[str, Any]) -> None:
        run_id = _int(frame.get("run_id"))
        status = await database_sync_to_async(_run_status)(self.thread_id, run_id or 0)
        if run_id is None or status is None:
            await self._error("not_found", "no such run in this thread", run_id=run_id)
        elif not await get_engine().cancel(run_id):
            await self._error("run_ended", "the run is not running", run_id=run_id)

    async def _on_ping(self, frame: dict[str, Any]) -> None:
        await self._frame("pong", None, {})

    async def _frame(self, event: str, run_id: int | None, data: dict[str, Any]) -> None:
        frame = {"event": event, "run_id": run_id, "seq": None, "data": data}
        await self.send(text_data=json.dumps(frame))

    async def _error(self, code: str, message: str, *, run_id: int | None = None) -> None:
        await self._frame("error", run_id, {"code": code, "message": message})

    async def _refusal(self) -> int | None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return CLOSE_UNAUTHENTICATED
        owned = await database_sync_to_async(_owns)(user.pk, self.thread_id)
        return None if owned else CLOSE_NOT_FOUND


_HANDLERS = {
    "resume": ThreadConsumer._on_resume,
    "cancel": ThreadConsumer._on_cancel,
    "ping": ThreadConsumer._on_ping,
}


def _owns(user_id: int, thread_id: int) -> bool:
    return Thread.objects.filter(pk=thread_id, owner_id=user_id).exists()


def _active_run(thread_id: int) -> int | None:
    runs = Run.objects.filter(thread_id=thread_id, status__in=Run.ACTIVE_STATUSES)
    return runs.values_list("pk", flat=True).last()


def _run_status(thread_id: int, run_id: int) -> str | None:
    return (
        Run.objects.filter(pk=run_id, thread_id=thread_id).values_list("status", flat=True).first()
    )


def _parse_frame(raw: str) -> dict[str, Any] | None:
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None


def _int(value: Any) -> int | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _size(raw: str) -> int:
    return len(raw.encode("utf-8"))
