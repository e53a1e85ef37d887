"""Per-run event logs and the in-process hub that fans frames out to sockets.

Every event of a run is appended to its log, which numbers it (`seq`, from 1) and serialises
the browser frame once; the same string then goes to every socket. A socket that connects late
or reconnects reads the log after its last seq, then follows live frames: the log, not the
socket, is the source of truth, so no gap and no duplicate whatever the timing (see
`ThreadConsumer` in `chat.consumers`).

Delivery inside one process is a direct call to each subscribed consumer: no per-frame pass
through a general-purpose channel layer, whose in-memory backend sweeps every channel for
expiry on each send.
"""

from __future__ import annotations

import json
import json.encoder
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any, Protocol

logger = logging.getLogger(__name__)

# How long the log of an ended run stays readable, for sockets resuming just after the end.
ENDED_LOG_TTL_SECONDS = 300.0


def _make_encoder() -> Callable[[Any], str]:
    """json.dumps(value, ensure_ascii=False, separators=(",", ":")), minus the per-call set-up
    (a new encoder object, the C encoder built again): a third less for a delta's data.

    Without json's check for circular references (`markers=None`): its memo would be shared
    by every call, and left dirty by a failed one. Event data is parsed JSON, which has no
    cycles; a cycle would raise RecursionError instead of ValueError."""
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode
    chunks = make(
        None, encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )
    return lambda value: "".join(chunks(value, 0))


_encode = _make_encoder()
_names: dict[str, str] = {}


def _name(event: str) -> str:
    """An event name as JSON; the few names there are are encoded once."""
    encoded = _names.get(event)
    if encoded is None:
        encoded = _encode(event)
        if len(_names) < 256:  # upstreams may invent names; keep the cache bounded
            _names[event] = encoded
    return encoded


def frame_text(event: str, run_id: int | None, seq: int | None, data_json: str) -> str:
    """The browser frame (docs/protocol.md), the one place it is spelled: the same text as
    json.dumps of {"event", "run_id", "seq", "data"} with compact separators, without
    building that dict. `data_json` is the event data, already JSON."""
    # Ids and seqs are ints or None: formatted, not encoded (this runs once per token).
    run = "null" if run_id is None else run_id
    number = "null" if seq is None else seq
    return f'{{"event":{_name(event)},"run_id":{run},"seq":{number},"data":{data_json}}}'


def event_frame(event: str, run_id: int | None, seq: int | None, data: dict[str, Any]) -> str:
    """`frame_text` of data not yet encoded. A frame outside any run's log (an error, a
    heartbeat, a resync) has no seq."""
    return frame_text(event, run_id, seq, _encode(data))


class Subscriber(Protocol):
    """A socket watching a thread (`chat.consumers.ThreadConsumer`)."""

    channel_name: str  # its name on the channel layer, for control messages

    async def deliver(self, log: RunLog, seq: int) -> None:
        """Send the log's frames up to `seq` that this socket has not sent yet."""

    async def run_settled(self, message: dict[str, Any]) -> None:
        """A run of the thread ended without its stream (`Hub.publish_settled`)."""


class RunLog:
    def __init__(self, run_id: int, thread_id: int) -> None:
        self.run_id = run_id
        self.thread_id = thread_id
        self.frames: list[str] = []
        self.ended_at: float | None = None

    @property
    def last_seq(self) -> int:
        return len(self.frames)

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def append(self, event: str, data: dict[str, Any], raw: str | None = None) -> int:
        """Number and serialise one event. `raw`, when given, is `data`'s JSON text as the
        upstream sent it (`StreamEvent.raw`), used as is instead of encoding `data` again."""
        seq = len(self.frames) + 1
        body = raw if raw is not None else _encode(data)
        self.frames.append(frame_text(event, self.run_id, seq, body))
        return seq

    def append_frame(self, frame: str) -> int:
        """Append a frame serialised elsewhere (a log mirrored from Redis); returns its seq."""
        self.frames.append(frame)
        return len(self.frames)

    def frame(self, seq: int) -> str:
        return self.frames[seq - 1]

    def end(self) -> None:
        self.ended_at = time.monotonic()


class Hub:
    """Run logs and the sockets watching each thread, for this process."""

    def __init__(self) -> None:
        self.logs: dict[int, RunLog] = {}
        self._active: dict[int, RunLog] = {}  # thread id -> its running run's log
        self._subscribers: defaultdict[int, set[Subscriber]] = defaultdict(set)
        self._ended: deque[RunLog] = deque()  # in the order they ended

    def open_log(self, run_id: int, thread_id: int) -> RunLog:
        self._forget_old_logs()
        log = self.logs[run_id] = RunLog(run_id, thread_id)
        self._active[thread_id] = log
        return log

    def close_log(self, log: RunLog) -> None:
        if not log.ended:
            log.end()
            self._ended.append(log)
        if self._active.get(log.thread_id) is log:
            del self._active[log.thread_id]

    def active_log(self, thread_id: int) -> RunLog | None:
        return self._active.get(thread_id)

    def log(self, run_id: int) -> RunLog | None:
        return self.logs.get(run_id)

    def subscribe(self, thread_id: int, subscriber: Subscriber) -> None:
        self._subscribers[thread_id].add(subscriber)

    def unsubscribe(self, thread_id: int, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(thread_id)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._subscribers[thread_id]

    async def publish(
        self, log: RunLog, event: str, data: dict[str, Any], raw: str | None = None
    ) -> int:
        seq = log.append(event, data, raw)
        await self.deliver(log, seq)
        return seq

    async def deliver(self, log: RunLog, seq: int) -> None:
        """Hand the log's frames up to `seq` to every socket watching its thread."""
        # Copy: a socket may unsubscribe while we await its neighbour's send.
        for subscriber in tuple(self._subscribers.get(log.thread_id, ())):
            try:
                await subscriber.deliver(log, seq)
            except Exception:
                # One socket must never fail the run, nor cut off the sockets after it.
                logger.exception("run %s: delivery to a socket failed", log.run_id)

    async def announce(self, thread_id: int, message: dict[str, Any]) -> None:
        """A control message to every socket on the thread; its `type` names the consumer's
        handler as the channel layer would ("branch.switched" calls `branch_switched`)."""
        handler = str(message["type"]).replace(".", "_")
        for subscriber in tuple(self._subscribers.get(thread_id, ())):
            await getattr(subscriber, handler)(message)

    # -- what differs when runs cross processes (`redis_hub.DistributedHub` overrides) --------

    def watch(self, run_id: int, thread_id: int) -> RunLog | None:
        """The log to follow for a run of the thread that is active, or None when no log of
        it can be had here: in one process, a run not executing here has no live frames."""
        log = self.logs.get(run_id)
        return log if log is not None and log.thread_id == thread_id else None

    async def follow(self, thread_id: int, subscriber: Subscriber) -> None:
        """Start handing the thread's frames to `subscriber`; called again at each of its
        heartbeats, which renews whatever the following needs."""
        self.subscribe(thread_id, subscriber)

    async def unfollow(self, thread_id: int, subscriber: Subscriber) -> None:
        self.unsubscribe(thread_id, subscriber)

    async def publish_settled(
        self, run_id: int, thread_id: int, events: list[tuple[str, dict[str, Any]]]
    ) -> None:
        """A run settled without its stream (its process died, or it was cancelled before it
        started): its final events end its log where one is open, and every other socket on
        the thread is told, to take the final state from the database."""
        log = self.logs.get(run_id)
        if log is not None and not log.ended:
            for event, data in events:
                await self.publish(log, event, data)
            self.close_log(log)
            return
        message = {"type": "run.settled", "run_id": run_id, "stream": False}
        for subscriber in tuple(self._subscribers.get(thread_id, ())):
            await subscriber.run_settled(message)

    def _forget_old_logs(self) -> None:
        # The oldest ended first: no pass over every log at each run's start.
        cutoff = time.monotonic() - ENDED_LOG_TTL_SECONDS
        ended = self._ended
        while ended and (ended[0].ended_at or cutoff) < cutoff:
            log = ended.popleft()
            if self.logs.get(log.run_id) is log:
                del self.logs[log.run_id]
