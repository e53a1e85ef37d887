"""Settling a run from its upstream's final state, when its stream could not tell the end.

Two callers, one path. The relay, when the connection drops mid-stream: the upstream usually
went on and finished the run, so its run object and messages are the authoritative end
(`RunExecution` applies `state_events` as if they had been streamed). And dead-run recovery,
for a run still active whose process died (`recover_run`): the same events settle it, or,
when the upstream cannot say (the stateless protocols keep no runs), the checkpointed partial
text is kept, marked incomplete, and the run fails as interrupted. Text is checkpointed, not
written per token: what a killed process streamed after its last checkpoint (at most
RUN_CHECKPOINT_SECONDS of it, a second by default) is lost with it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async

from assistants_proxy.accumulator import RunAccumulator
from assistants_proxy.errors import AssistantsError
from assistants_proxy.events import TERMINAL_RUN_STATUSES, StreamEvent, make_event
from assistants_proxy.upstreams import Upstream
from chat.models import Run
from chat.runs import failures, lease_store, outcome, store
from chat.runs.upstream import upstream_for, upstream_http

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.25
_MESSAGE_ENDS = frozenset({"thread.message.completed", "thread.message.incomplete"})
State = tuple[dict[str, Any], list[dict[str, Any]]]
Frames = list[tuple[str, dict[str, Any]]]


async def final_state(
    upstream: Upstream, thread_id: str, run_id: str, *, wait: float
) -> State | None:
    """The run and its assistant messages once the run has ended; None if the upstream
    cannot say. It may still be writing when asked: polled until it ends, for `wait` s."""
    deadline = time.monotonic() + wait
    while True:
        try:
            state = await upstream.final_state(thread_id=thread_id, run_id=run_id)
        except (AssistantsError, KeyError, TypeError):
            return None
        if state is None:
            return None
        if state[0].get("status") in TERMINAL_RUN_STATUSES:
            return state
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(POLL_SECONDS)


def state_events(state: State, *, known: set[str]) -> list[StreamEvent]:
    """The final state as the events that would have ended the stream: each message's
    creation (unless `known`) and end, then the run's end."""
    run, messages = state
    events = []
    for message in messages:
        if message.get("id") not in known:
            events.append(make_event("thread.message.created", message))
        end = "completed" if message.get("status") == "completed" else "incomplete"
        events.append(make_event(f"thread.message.{end}", message))
    events.append(make_event(f"thread.run.{run['status']}", run))
    return events


@dataclass
class Settled:
    thread_id: int
    status: str
    frames: Frames  # what the sockets watching the run are sent to end it


async def recover_interrupted_runs(*, wait: float = 10.0) -> list[int]:
    """Settle every run left active with no live lease; returns their ids."""
    run_ids = await database_sync_to_async(lease_store.run_ids_unheld)()
    for run_id in run_ids:
        await recover_run(run_id, wait=wait)
    return run_ids


async def recover_run(run_id: int, *, wait: float) -> Settled:
    """Settle a run whose process died, from its upstream's final state, or as interrupted."""
    run = await Run.objects.select_related("thread", "assistant").aget(pk=run_id)
    replies = await database_sync_to_async(store.run_replies)(run_id)
    state = await _upstream_state(run, wait)
    last_error: dict[str, Any] | None = failures.INTERRUPTED
    if state is None:
        events = [_interrupted_reply(uid, text) for uid, (_, text) in replies.items()]
        status = "failed"
    else:
        events = state_events(state, known=set(replies))
        status, last_error = state[0]["status"], state[0].get("last_error")
    acc = RunAccumulator()
    for event in events:
        acc.feed(event)
    result = outcome.run_outcome(acc, status=status, last_error=last_error, prompt_text="")
    pks = {uid: pk for uid, (pk, _) in replies.items()}
    await database_sync_to_async(store.run_finish)(run_id=run_id, outcome=result, message_pks=pks)
    logger.warning("run %s: settled after its process died, as %s", run_id, status)
    frames = [(e.name, e.data) for e in events if e.name in _MESSAGE_ENDS]
    frames.append(outcome.end_event(acc, status=status, outcome=result, run_id=run.upstream_run_id))
    return Settled(run.thread_id, status, frames)


async def _upstream_state(run: Run, wait: float) -> State | None:
    if not (run.upstream_run_id and run.thread.upstream_thread_id):
        return None  # it never started upstream, or the upstream keeps no runs
    async with upstream_http() as http:
        upstream = upstream_for(run.assistant, http)
        return await final_state(
            upstream, run.thread.upstream_thread_id, run.upstream_run_id, wait=wait
        )


def _interrupted_reply(upstream_id: str, text: str) -> StreamEvent:
    data = {
        "id": upstream_id,
        "object": "thread.message",
        "role": "assistant",
        "status": "incomplete",
        "content": [{"type": "text", "text": {"value": text, "annotations": []}}],
    }
    return make_event("thread.message.incomplete", data)


def unstarted_or_context(run_id: int) -> Settled | store.RunContext:
    """A run just claimed, in one trip to the database: settled, when it was cancelled before
    anyone executed it, else its context to execute it with. (Each trip of a worker's waits
    for the others in its one database thread: a run's start must not take three.)"""
    return settle_unstarted_cancel(run_id) or store.run_context_load(run_id)


def settle_unstarted_cancel(run_id: int) -> Settled | None:
    """A run cancelled before anyone executed it ends as cancelled, without an upstream."""
    thread_id = lease_store.run_cancel_unstarted(run_id)
    if thread_id is None:
        return None
    ended = store.RunOutcome(status="cancelled")
    frame = outcome.end_event(RunAccumulator(), status="cancelled", outcome=ended, run_id="")
    return Settled(thread_id, "cancelled", [frame])
