"""The stream of `submit_tool_outputs`: the run's frames after the pause that was answered.

The process that executes the run knows where its log stood when the outputs came in. Any
other process follows the run's log as mirrored from Redis (`redis_hub.watch`), which it
reads from the start: the continuation begins after the `requires_action` frame that asked
for the calls answered (a run may pause several times; the call ids tell the pauses apart).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from chat.errors import Conflict
from chat.fanout import redis
from chat.fanout.runlog import RunLog
from chat.runs import get_engine, tool_outputs
from chat.v1 import stream
from chat.v1.wire import DONE, REQUIRES_ACTION, RunNames

_MARK = f'"{REQUIRES_ACTION}"'


async def after_pause(
    follower: stream.RunFollower, names: RunNames, call_ids: list[str]
) -> AsyncIterator[str]:
    """The SSE text of the run's frames after the pause that asked for `call_ids`."""
    follower.started = True
    follower.find_log()
    wanted, seq = sorted(call_ids), 0
    while True:
        found, seq = _find_pause(follower.log, wanted, seq)
        if found:
            break
        if follower.settled or (follower.log is not None and follower.log.ended):
            follower.close()  # the frames are gone (a gap in the mirror): nothing to follow
            yield DONE
            return
        if not await follower.news():
            yield ": keep-alive\n\n"
    async for chunk in stream.events(follower, names, after_seq=seq):
        yield chunk


def _find_pause(log: RunLog | None, wanted: list[str], seq: int) -> tuple[bool, int]:
    """(whether the pause is at or before the log's last frame; the last seq read)."""
    if log is None:
        return False, seq
    while seq < log.last_seq:
        seq += 1
        frame = log.frame(seq)
        if _MARK in frame and _asks_for(frame, wanted):
            return True, seq
    return False, seq


def _asks_for(frame: str, wanted: list[str]) -> bool:
    parsed = json.loads(frame)
    if parsed.get("event") != REQUIRES_ACTION or not isinstance(parsed.get("data"), dict):
        return False
    return sorted(tool_outputs.call_ids(parsed["data"].get("required_action"))) == wanted


def ensure_followable(run_id: int) -> None:
    """Conflict, before anything changes, when the run's frames cannot be had here: a run
    another process executes, without Redis to mirror its stream."""
    if not redis.enabled() and run_id not in get_engine().executions:
        raise Conflict(
            "This run executes in another process whose stream cannot be followed from here:"
            " submit the tool outputs without stream, then poll the run.",
            code="stream_unavailable",
        )
