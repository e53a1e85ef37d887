"""Resuming a run's stream at random points, over real WebSockets against the real app.

The app runs as deployed, under daphne in its own process with a fresh SQLite file
(`tests/e2e/appserver.py`), and talks to the real simulator over HTTP. A user signs up and
starts one long run through the JSON API; then 200 sockets resume it at random points, read a
random number of frames and hang up (cleanly or by dropping the TCP connection), most of them
while the run streams and the rest after it ended. A socket resumes in one of three ways:

- `query`: `?run_id=R&after_seq=N` on the socket URL;
- `frame`: a `{"type": "resume", "run_id": R, "after_seq": N}` frame sent first thing;
- `frame_after_replay`: the same frame sent once the socket has been sent the active run's
  log from seq 1, which every socket that connects without a query gets (docs/protocol.md,
  "Replay"). This is how a browser fills a gap, and the one way to rewind a socket.

Some resume past the last frame the server holds: that is refused with a `bad_frame` error.

Checked: every frame of a seq is the same bytes on every socket; what follows a resume starts
exactly at N+1 and has no gap; a socket is sent all it asked for; and the deltas, in seq
order, are byte for byte the reply stored in the database and returned by the API.

The random choices come from a fixed seed, printed at the start (shown when the test fails);
set RESUME_SEED to replay or explore another sequence.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from tests.e2e.appserver import RunningApp, running_app

SEED = int(os.environ.get("RESUME_SEED", "20261124"))
CONNECTIONS = 200
# Connections from this index on wait until the run has ended: resuming a finished run from
# its kept log must behave exactly like resuming a live one.
AFTER_END_FROM = 150
WORKERS = 4
# About 4 s of streaming: long enough that most sockets meet the run live.
LONG_RUN = "/sim tokens=2000 rate=500 Tell me about rivers"
TERMINAL = {
    "thread.run.completed",
    "thread.run.failed",
    "thread.run.cancelled",
    "thread.run.incomplete",
    "thread.run.expired",
}
TERMINAL_STATUSES = {event.rsplit(".", 1)[1] for event in TERMINAL}
QUIET_SECONDS = 0.25  # a socket with nothing to read for this long checks whether it is done
DEADLINE_SECONDS = 20.0


class RunCrashedOnHangUp(Exception):
    """The run failed with `internal_error` because a socket hung up while frames were being
    sent to it: the hub hands each frame to every socket in turn, and the server raises on a
    send to a socket that is closing (daphne: autobahn's `Disconnected`; uvicorn:
    `ClientDisconnected`), which ends the run for every watcher. The fix belongs in the
    engine's delivery (`chat/fanout/runlog.py` / `chat/consumers.py`): a socket that cannot be
    sent to must be dropped, not fail the run."""


@dataclass
class Observed:
    """What all sockets saw of the run, shared by the workers."""

    run_id: int
    frames: dict[int, str] = field(default_factory=dict)  # seq -> the exact text received
    max_seq: int = 0
    last_seq: int | None = None  # the terminal frame's seq, once any socket saw it
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    live_connections: int = 0  # sockets opened before the run ended

    def record(self, seq: int, raw: str) -> None:
        known = self.frames.setdefault(seq, raw)
        assert known == raw, f"seq {seq} differs between sockets:\n{known}\n{raw}"
        self.max_seq = max(self.max_seq, seq)


@dataclass(frozen=True)
class Plan:
    """One connection: how it resumes, where (a kind and a fraction), how much it reads."""

    index: int
    mode: str  # "query", "frame", "frame_after_replay"
    kind: str  # "zero", "last", "beyond", "inside"
    fraction: float
    beyond_by: int
    reads: int
    abort: bool
    pause: float

    def after_seq(self, seen: Observed) -> int:
        last = seen.last_seq if seen.last_seq is not None else seen.max_seq
        if self.kind == "zero":
            return 0
        if self.kind == "last":
            return last
        if self.kind == "beyond":
            return last + self.beyond_by
        return int(self.fraction * last)


def make_plans(rng: random.Random) -> list[Plan]:
    modes = ["query", "frame", "frame_after_replay"]
    return [
        Plan(
            index=index,
            mode=rng.choices(modes, [6, 2, 2])[0],
            kind=rng.choices(["zero", "last", "beyond", "inside"], [1, 2, 1, 6])[0],
            fraction=rng.random(),
            beyond_by=rng.randint(1, 50),
            reads=rng.choice([0, rng.randint(1, 5), rng.randint(1, 80), rng.randint(1, 600)]),
            abort=rng.random() < 0.2,
            pause=rng.uniform(0, 0.03),
        )
        for index in range(CONNECTIONS)
    ]


@pytest.fixture
def app(tmp_path: Path, simulator_url: str) -> Iterator[RunningApp]:
    with running_app(tmp_path, env={"SIMULATOR_URL": simulator_url}) as app:
        yield app


async def test_random_resumes_see_one_gapless_byte_identical_stream(app: RunningApp) -> None:
    print(f"RESUME_SEED={SEED}")
    rng = random.Random(SEED)
    async with httpx.AsyncClient(base_url=app.url, timeout=10) as http:
        await sign_up(http)
        created = await http.post(
            "/api/threads/",
            json={"content": LONG_RUN},
            headers={"X-CSRFToken": http.cookies["csrftoken"]},
        )
        assert created.status_code == 201, created.text
        thread_id, run_id = created.json()["thread"]["id"], created.json()["run"]["id"]
        seen = Observed(run_id)
        sockets = Sockets(app.url, thread_id, http.cookies["sessionid"])

        queue: asyncio.Queue[Plan] = asyncio.Queue()
        for plan in make_plans(rng):
            queue.put_nowait(plan)
        async with asyncio.timeout(DEADLINE_SECONDS * 2):
            await asyncio.gather(
                sockets.follow_whole_run(seen),
                *(sockets.worker(queue, seen) for _ in range(WORKERS)),
            )

        assert seen.last_seq is not None
        assert sorted(seen.frames) == list(range(1, seen.last_seq + 1))
        print(f"{seen.live_connections} of {CONNECTIONS} sockets met the run live")
        streamed = reply_from_deltas(seen)
        detail = await stored_thread(http, thread_id)

    [api_reply] = [m for m in detail["messages"] if m["role"] == "assistant"]
    assert streamed.encode() == api_reply["content"].encode() == stored_reply(app, run_id)
    end = json.loads(seen.frames[seen.last_seq])
    if (end["data"].get("last_error") or {}).get("code") == "internal_error":
        raise RunCrashedOnHangUp(end["data"]["last_error"]["message"])
    assert end["event"] == "thread.run.completed", end
    assert len(streamed) > 5000  # the long reply really was long
    # Resuming a live run is the interesting case; a run that ends too soon tests little.
    assert seen.live_connections >= 30


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


def check_refused(plan: Plan, reader: FrameReader, seqs: list[int], context: str) -> None:
    """A resume past the end of the log the server holds is refused (a past-the-end resume of
    an ended run always is), and the socket goes on as one that never asked: the active run
    from seq 1, or nothing."""
    assert plan.kind == "beyond" and reader.refused, context
    assert seqs == list(range(1, len(seqs) + 1)), context


def split_replay(seqs: list[int], after: int, *, via_frame: bool) -> tuple[list[int], list[int]]:
    """(replay from 1, frames after N) of a socket that sent its resume frame first thing.

    The socket is sent the active run's log from seq 1 on connect, and only the resume frame,
    read after that, moves it to N+1: one run from 1, then one from N+1. When the first runs
    straight on into N+1 the two cannot be told apart (`frame_after_replay` sockets can).
    With the query there is no such head: every frame must follow N."""
    if not via_frame or not seqs or seqs[0] != 1:
        return [], seqs
    for i in range(1, len(seqs)):
        if seqs[i] != seqs[i - 1] + 1:
            return seqs[:i], seqs[i:]
    if after + 1 <= seqs[-1]:
        return seqs[:after], seqs[after:]  # seq N+1 sits at index N
    return seqs, []


def check_rewound(
    head: list[int], before_pong: list[int], rest: list[int], after: int, context: str
) -> list[int]:
    """The frames after N of a socket that sent its resume frame once its replay from 1 was in.

    `head` came before the first pong: the replay, seq 1 on. Between that pong and the
    resume being read, live frames may still carry on from the head; the resume's own replay
    (N+1 up to the run's last frame so far) all comes before the second pong, and everything
    after that pong follows on from it. Returns the frames after N."""
    assert head == list(range(1, len(head) + 1)), context
    for carried_on in range(len(before_pong) + 1):
        live, tail = before_pong[:carried_on], before_pong[carried_on:] + rest
        if live != list(range(len(head) + 1, len(head) + 1 + carried_on)):
            break
        if tail != list(range(after + 1, after + 1 + len(tail))):
            continue
        # When the server held frames after N, the resume's replay sent them before the pong.
        if after < len(head) + carried_on and carried_on == len(before_pong):
            continue
        return tail
    raise AssertionError(f"not a rewind to after_seq: {context}")


def reply_from_deltas(seen: Observed) -> str:
    parts = []
    for seq in sorted(seen.frames):
        frame = json.loads(seen.frames[seq])
        if frame["event"] != "thread.message.delta":
            continue
        for part in frame["data"]["delta"].get("content", []):
            if part.get("type") == "text":
                parts.append(part["text"]["value"])
    return "".join(parts)


async def sign_up(http: httpx.AsyncClient, username: str = "alice") -> None:
    form = await http.get("/accounts/signup/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token, form.text
    fields = {
        "csrfmiddlewaretoken": token.group(1),
        "username": username,
        "password1": "correct-horse-battery-9",
        "password2": "correct-horse-battery-9",
    }
    done = await http.post("/accounts/signup/", data=fields)
    assert done.status_code == 302 and "sessionid" in http.cookies, done.text


async def stored_thread(http: httpx.AsyncClient, thread_id: int) -> dict[str, Any]:
    """The thread as the API has it once the run's final state is committed."""
    async with asyncio.timeout(DEADLINE_SECONDS):
        while True:
            detail = (await http.get(f"/api/threads/{thread_id}/")).json()
            ended = all(run["status"] in TERMINAL_STATUSES for run in detail["runs"])
            messages = [m for m in detail["messages"] if m["role"] == "assistant"]
            if ended and messages and messages[0]["status"] != "in_progress":
                return dict(detail)
            await asyncio.sleep(0.05)


def stored_reply(app: RunningApp, run_id: int) -> bytes:
    """The reply's row, read straight from the app's database file."""
    with closing(sqlite3.connect(app.sqlite_path)) as db:
        rows = db.execute(
            "SELECT content FROM chat_message WHERE run_id = ? AND role = 'assistant'", (run_id,)
        ).fetchall()
    assert len(rows) == 1, rows
    return str(rows[0][0]).encode()
