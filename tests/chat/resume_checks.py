"""What a resumed socket must have been sent: a refusal, or a replay and the frames after N."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tests.chat.resume_plans import Observed, Plan

if TYPE_CHECKING:  # resume_sockets imports these checks
    from tests.chat.resume_sockets import FrameReader


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
