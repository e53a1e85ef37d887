"""Ask the upstream how a run really ended, when its stream could not tell us.

Used when the connection drops mid-stream: the upstream usually went on and finished the run,
so its run object and messages are the authoritative final state. The upstream may still be
writing when we ask, so the run is polled until it reaches a terminal status, for a while.
Stateless upstreams (Chat Completions, Responses) cannot say: the caller keeps what it has.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from assistants_proxy.errors import AssistantsError
from assistants_proxy.upstreams import Upstream

TERMINAL = {"completed", "incomplete", "failed", "cancelled", "expired"}
POLL_SECONDS = 0.25

State = tuple[dict[str, Any], list[dict[str, Any]]]


async def final_state(
    upstream: Upstream, thread_id: str, run_id: str, *, wait: float
) -> State | None:
    """The run and its assistant messages once the run has ended; None if it cannot say."""
    deadline = time.monotonic() + wait
    while True:
        try:
            state = await upstream.final_state(thread_id=thread_id, run_id=run_id)
        except (AssistantsError, KeyError, TypeError):
            return None
        if state is None:
            return None
        if state[0].get("status") in TERMINAL:
            return state
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(POLL_SECONDS)
