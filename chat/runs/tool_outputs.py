"""Tool outputs submitted through any process: checked against the run's stored
`required_action` and written to its row, where the process executing the run finds them.

The process that executes a paused run takes outputs submitted to it directly
(`client_tools.ClientWait`); every other process writes them here, in one conditional UPDATE
that is also what makes a submission count once: the first one moves the run out of
`requires_action`, and any later one finds it not waiting. The waiting run reads its row every
POLL_SECONDS (`client_tools._wait`) and clears the outputs when it resumes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async

from chat.errors import Conflict, InvalidInput
from chat.models import Run

# How often a waiting run reads its row for outputs submitted elsewhere: one primary-key
# SELECT per waiting run, never per token.
POLL_SECONDS = 0.3
# A run's `requires_action` reaches its row a write trip after its event (`writer`): a client
# answering at once may be ahead of it, so a run still in progress is asked again this often.
EARLY_RETRIES, EARLY_PAUSE = 10, 0.1
_ACTIVE = (Run.Status.QUEUED, Run.Status.IN_PROGRESS)


def call_ids(required_action: dict[str, Any] | None) -> list[str]:
    action = (required_action or {}).get("submit_tool_outputs") or {}
    calls = action.get("tool_calls")
    return [str(call.get("id", "")) for call in calls] if isinstance(calls, list) else []


def check_answers(expected: list[str], outputs: list[dict[str, str]]) -> None:
    """InvalidInput unless `outputs` answer each of the `expected` calls once, and no other."""
    given = [output["tool_call_id"] for output in outputs]
    if sorted(given) != sorted(expected):
        raise InvalidInput(
            f"Submit one output for each of the tool calls {', '.join(expected)}, all at once.",
            code="tool_outputs_mismatch",
        )


def not_waiting() -> Conflict:
    return Conflict("This run is not waiting for tool outputs.", code="not_waiting")


def store_outputs(run_id: int, outputs: list[dict[str, str]]) -> list[str] | None:
    """Record the outputs for the run; the call ids they answer. None when the run is still
    in progress (its `requires_action` may not be written yet); Conflict when it is not
    waiting, InvalidInput when the outputs do not answer its calls (nothing changes)."""
    row = (
        Run.objects.filter(pk=run_id)
        .values("status", "required_action", "submitted_tool_outputs")
        .first()
    )
    if row is None or row["submitted_tool_outputs"] is not None:
        raise not_waiting()  # answered already, and not resumed yet
    if row["status"] != Run.Status.REQUIRES_ACTION:
        if row["status"] in _ACTIVE:
            return None
        raise not_waiting()
    expected = call_ids(row["required_action"])
    check_answers(expected, outputs)
    # Conditional on the action checked: a concurrent submission or cancel wins or loses whole.
    taken = Run.objects.filter(
        pk=run_id,
        status=Run.Status.REQUIRES_ACTION,
        required_action=row["required_action"],
        submitted_tool_outputs__isnull=True,
    ).update(status=Run.Status.IN_PROGRESS, required_action=None, submitted_tool_outputs=outputs)
    if not taken:
        raise not_waiting()
    return expected


async def submit_stored(run_id: int, outputs: list[dict[str, str]]) -> list[str]:
    """`store_outputs`, asked again while the run's pause is on its way to the row."""
    for _ in range(EARLY_RETRIES):
        answered = await database_sync_to_async(store_outputs)(run_id, outputs)
        if answered is not None:
            return answered
        await asyncio.sleep(EARLY_PAUSE)
    raise not_waiting()


def take_stored(run_id: int) -> list[dict[str, str]] | None:
    """The outputs submitted elsewhere for the waiting run, if any (left in the row until
    the run resumes: `client_tools.run_resume`)."""
    found = Run.objects.filter(pk=run_id).values_list("submitted_tool_outputs", flat=True)
    outputs = found.first()
    return outputs if isinstance(outputs, list) else None
