"""Watching a run's upstream for silence.

A model may think for a while, but a reply that stops moving with no word is the worst thing
a chat can show. After UPSTREAM_SILENCE_NOTICE_SECONDS without an event, the browser gets a
`notice` frame ("waiting for the model"), and the next event clears it. An upstream that keeps
runs (Assistants) is then asked how the run stands: one that already finished it, while its
stream fell silent, is not waited for until the stall timeout; the stream is cut, and the
run completes from the upstream's final state (`recovery`).

One timer per run, armed for the silence limit and moved lazily: the relay only stamps
`last_event_at` per event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from django.conf import settings

from assistants_proxy.errors import AssistantsError
from assistants_proxy.events import TERMINAL_RUN_STATUSES
from assistants_proxy.upstreams import RunStream, Upstream
from chat.fanout.runlog import Hub, RunLog


class Watched(Protocol):
    """What the watch reads of a run's execution (`chat.runs.execution.RunExecution`)."""

    hub: Hub
    log: RunLog
    last_event_at: float
    live: RunStream | None
    upstream: Upstream | None
    upstream_run_id: str
    upstream_thread_id: str

    @property
    def ended(self) -> bool: ...


logger = logging.getLogger(__name__)


def notice(silent_for: float) -> dict[str, Any]:
    return {
        "code": "upstream_silent",
        "message": "Waiting for the model…",
        "silent_seconds": int(silent_for),
    }


async def watch(execution: Watched) -> None:
    """Until the run ends (the caller cancels this task): one notice per silence."""
    limit = float(settings.UPSTREAM_SILENCE_NOTICE_SECONDS)
    noticed_at = 0.0  # the `last_event_at` a notice was sent for
    while not execution.ended:
        silent = time.monotonic() - execution.last_event_at
        if silent < limit or noticed_at == execution.last_event_at:
            await asyncio.sleep(max(limit - silent, 0.0) or limit)
            continue
        noticed_at = execution.last_event_at
        await execution.hub.publish(execution.log, "notice", notice(silent))
        if await _upstream_finished(execution):
            logger.warning(
                "run log %s: the stream fell silent after the upstream finished the run; "
                "completing from the upstream's state",
                execution.log.run_id,
            )
            await _cut(execution)


async def _upstream_finished(execution: Watched) -> bool:
    upstream, run_id = execution.upstream, execution.upstream_run_id
    if upstream is None or not run_id:
        return False
    try:
        state = await upstream.final_state(thread_id=execution.upstream_thread_id, run_id=run_id)
    except (AssistantsError, KeyError, TypeError):
        return False
    return state is not None and state[0].get("status") in TERMINAL_RUN_STATUSES


async def _cut(execution: Watched) -> None:
    """Close the silent stream under the relay's read: the relay then takes the run's end
    from the upstream, as for any stream that broke."""
    stream = execution.live
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()
