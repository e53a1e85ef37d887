"""Function calls that the client answers: the Assistants API's `requires_action`.

Functions this server implements (`chat.tools`) are called by the run itself. A call to any
other function, and every call of an assistant a user made over the API (its functions are
the user's code), is the client's: the run pauses in `requires_action`, the client's stream
ends there, and the run continues in the same task and the same event log when the client
posts `submit_tool_outputs` (`RunEngine.submit_tool_outputs`), to this process or, through
the run's row, to any other (`tool_outputs`). A run that waits longer than
CLIENT_TOOL_WAIT_SECONDS expires, as the Assistants API's runs do.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings
from django.db.models import Q

from chat.models import Assistant, Run
from chat.runs import tool_outputs
from chat.runs.store import RunContext
from chat.runs.writer import Writer
from chat.tools import REGISTRY, call_tools

EXPIRED = {"code": "expired", "message": "No tool outputs were submitted in time."}


def required_calls(run: dict[str, Any]) -> list[dict[str, Any]]:
    action = (run.get("required_action") or {}).get("submit_tool_outputs") or {}
    calls = action.get("tool_calls")
    return calls if isinstance(calls, list) else []


def client_answers(assistant: Assistant, calls: list[dict[str, Any]]) -> bool:
    if assistant.owner_id is not None:
        return True
    names = ((call.get("function") or {}).get("name") for call in calls)
    return any(name not in REGISTRY for name in names)


class ClientWait:
    """The outputs a paused run waits for: one per call, all in one submission."""

    def __init__(self, calls: list[dict[str, Any]]) -> None:
        self.call_ids = [str(call.get("id", "")) for call in calls]
        self.outputs: asyncio.Future[list[dict[str, str]]] = (
            asyncio.get_running_loop().create_future()
        )

    def submit(self, outputs: list[dict[str, str]]) -> None:
        """Hand the run outputs already recorded (`tool_outputs.submit_stored`, which checked
        them): it resumes at once, without waiting for its next read of the row."""
        if not self.outputs.done():
            self.outputs.set_result(outputs)


class Paused(Protocol):
    """What this module reads and writes of a run's execution (`execution.RunExecution`)."""

    ctx: RunContext
    writer: Writer
    client_wait: ClientWait | None
    last_event_at: float


def on_requires_action(execution: Paused, data: dict[str, Any]) -> None:
    """The run asks for outputs: note those the client owes, before the event is published
    (a client that answers at once then finds the run waiting)."""
    calls = required_calls(data)
    if not client_answers(execution.ctx.assistant, calls):
        return
    execution.client_wait = ClientWait(calls)
    run_id, action = execution.ctx.run_id, data.get("required_action") or {}
    execution.writer.put(lambda: run_await_client(run_id=run_id, required_action=action))


async def outputs(execution: Paused, calls: list[dict[str, Any]]) -> list[dict[str, str]] | None:
    """The server's functions' outputs, or the client's (None when they never came)."""
    pending = execution.client_wait
    if pending is None:
        return await call_tools(calls, time_limit=settings.TOOL_TIMEOUT_SECONDS)
    try:
        given = await _wait(execution, pending)
    finally:
        execution.client_wait = None  # answered, expired or cancelled: no more submissions
    if given is not None:
        run_id = execution.ctx.run_id
        execution.writer.put(lambda: run_resume(run_id=run_id))
    return given


async def _wait(execution: Paused, pending: ClientWait) -> list[dict[str, str]] | None:
    deadline = time.monotonic() + settings.CLIENT_TOOL_WAIT_SECONDS
    while not pending.outputs.done():
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        # Not silence: the upstream is not expected to say anything until the client has.
        execution.last_event_at = time.monotonic()
        await asyncio.wait({pending.outputs}, timeout=min(left, tool_outputs.POLL_SECONDS))
        if not pending.outputs.done():
            stored = await database_sync_to_async(tool_outputs.take_stored)(execution.ctx.run_id)
            if stored is not None:
                return stored
    return pending.outputs.result()


def run_await_client(*, run_id: int, required_action: dict[str, Any]) -> None:
    # Conditional: a cancel may have moved the run on meanwhile.
    Run.objects.filter(pk=run_id).filter(
        Q(status=Run.Status.IN_PROGRESS) | Q(status=Run.Status.QUEUED)
    ).update(status=Run.Status.REQUIRES_ACTION, required_action=required_action)


def run_resume(*, run_id: int) -> None:
    Run.objects.filter(pk=run_id, status=Run.Status.REQUIRES_ACTION).update(
        status=Run.Status.IN_PROGRESS, required_action=None
    )
    # Outputs submitted through another process were taken: the next pause starts empty.
    Run.objects.filter(pk=run_id, submitted_tool_outputs__isnull=False).update(
        submitted_tool_outputs=None
    )
