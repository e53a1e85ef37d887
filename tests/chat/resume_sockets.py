"""The sockets of the random resumes: one follows the whole run, the others resume it and read."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from tests.chat.resume_checks import check_refused, check_rewound, split_replay
from tests.chat.resume_plans import (
    AFTER_END_FROM,
    DEADLINE_SECONDS,
    QUIET_SECONDS,
    TERMINAL,
    Observed,
    Plan,
)


class Sockets:
    def __init__(self, app_url: str, thread_id: int, session_cookie: str) -> None:
        self.url = app_url.replace("http://", "ws://") + f"/ws/threads/{thread_id}/"
        self.headers = {"Cookie": f"sessionid={session_cookie}"}
        self.origin = Origin(app_url)

    async def open(self, query: str = "") -> ClientConnection:
        return await connect(
            self.url + query,
            additional_headers=self.headers,
            origin=self.origin,
            max_size=2**22,
            # Unbounded: with a bounded queue, frames the test chose not to read stop the
            # client reading, and it never sees the server's answer to its close frame.
            max_queue=None,
        )

    async def follow_whole_run(self, seen: Observed) -> None:
        """One socket follows the run from its first event to its last."""
        async with await self.open() as socket:
            seqs = []
            while seen.last_seq is None:
                raw = await asyncio.wait_for(socket.recv(decode=True), DEADLINE_SECONDS)
                frame = json.loads(raw)
                if frame["seq"] is None:
                    continue
                assert frame["run_id"] == seen.run_id
                seen.record(frame["seq"], raw)
                seqs.append(frame["seq"])
                if frame["event"] in TERMINAL:
                    seen.last_seq = frame["seq"]
                    seen.ended.set()
            assert seqs == list(range(1, len(seqs) + 1))

    async def worker(self, queue: asyncio.Queue[Plan], seen: Observed) -> None:
        while not queue.empty():
            plan = queue.get_nowait()
            if plan.index >= AFTER_END_FROM:
                await seen.ended.wait()
            await asyncio.sleep(plan.pause)
            await self.resume_once(plan, seen)

    async def resume_once(self, plan: Plan, seen: Observed) -> None:
        after = plan.after_seq(seen)
        ended_before = seen.ended.is_set()
        seen.live_connections += not ended_before
        query = f"?run_id={seen.run_id}&after_seq={after}" if plan.mode == "query" else ""
        resume = json.dumps({"type": "resume", "run_id": seen.run_id, "after_seq": after})
        ping = json.dumps({"type": "ping"})
        socket = await self.open(query)
        reader = FrameReader(socket, seen)
        head: list[int] = []
        try:
            if plan.mode == "frame_after_replay":
                await socket.send(ping)
                head = await reader.until_pong()
                await socket.send(resume)
                await socket.send(ping)
                before_pong = await reader.until_pong()
            else:
                if plan.mode == "frame":
                    await socket.send(resume)
                await socket.send(ping)
                before_pong = []
            terminal_ends = plan.mode != "frame"  # there, a terminal may still be the head's
            rest = await reader.frames(plan.reads, terminal_ends=terminal_ends)
        finally:
            if plan.abort:
                socket.transport.abort()  # hang up without a closing handshake
            else:
                await socket.close()
        context = f"connection {plan.index} {plan}, after_seq={after}: {head} {before_pong} {rest}"
        # The answer to a resume comes before the pong: once that was read, a resume past the
        # end of an ended run must have been refused.
        if reader.refused or (ended_before and plan.kind == "beyond" and reader.pongs):
            check_refused(plan, reader, head + before_pong + rest, context)
            return
        if plan.mode == "frame_after_replay":
            tail = check_rewound(head, before_pong, rest, after, context)
        else:
            head, tail = split_replay(rest, after, via_frame=plan.mode == "frame")
            assert head == list(range(1, len(head) + 1)), context
        assert tail == list(range(after + 1, after + 1 + len(tail))), context
        if ended_before:
            # Nothing was live any more, so no replay from 1 was due (or, in the instant
            # between the run's last frame and its log closing, the whole log), and the
            # socket got all it asked for of what follows N.
            assert seen.last_seq is not None
            assert head in ([], list(range(1, seen.last_seq + 1))), context
            budget = plan.reads - len(rest) + len(tail) if plan.mode == "frame" else plan.reads
            wanted = max(0, seen.last_seq - after)
            if plan.mode != "frame_after_replay":
                wanted = min(budget, wanted)
            assert len(tail) == wanted, context


class FrameReader:
    """Reads one socket's frames, recording every run frame in `Observed`."""

    def __init__(self, socket: ClientConnection, seen: Observed) -> None:
        self.socket = socket
        self.seen = seen
        self.pongs = 0
        self.refused = False  # the server answered the resume with a bad_frame error

    async def next(self) -> dict[str, Any]:
        raw = await self.socket.recv(decode=True)
        frame = json.loads(raw)
        if frame["seq"] is None:
            refused = frame["event"] == "error" and frame["data"]["code"] == "bad_frame"
            assert refused or frame["event"] in {"pong", "heartbeat"}, raw
            self.refused = self.refused or refused
            self.pongs += frame["event"] == "pong"
        else:
            assert frame["run_id"] == self.seen.run_id, raw
            self.seen.record(frame["seq"], raw)
        return dict(frame)

    async def until_pong(self) -> list[int]:
        """The seqs sent before the answer to our ping: all that our frames before it caused."""
        seqs = []
        pongs = self.pongs
        async with asyncio.timeout(DEADLINE_SECONDS):
            while self.pongs == pongs:
                frame = await self.next()
                if frame["seq"] is not None:
                    seqs.append(frame["seq"])
        return seqs

    async def frames(self, wanted: int, *, terminal_ends: bool) -> list[int]:
        seqs: list[int] = []
        async with asyncio.timeout(DEADLINE_SECONDS):
            while len(seqs) < wanted:
                try:
                    frame = await asyncio.wait_for(self.next(), QUIET_SECONDS)
                except TimeoutError:
                    if self.pongs and self.seen.ended.is_set():
                        break  # the run is over and everything after N was sent
                    continue
                if frame["seq"] is None:
                    continue
                seqs.append(frame["seq"])
                if frame["event"] in TERMINAL and (terminal_ends or self.pongs):
                    break
        return seqs
