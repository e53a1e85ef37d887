"""What a run's end is recorded and announced as: its status, each reply's final text and
status, its steps, its usage, its error and its record.

One rule for every way a run ends: its own stream said so, the engine ended it here (a
failure, a cancel, the server stopping), or its final state came from the upstream afterwards
(`recovery`, for a dropped stream or a dead process). Each of them feeds a `RunAccumulator`,
and the outcome is read from it here.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from assistants_proxy.accumulator import RunAccumulator, message_text
from assistants_proxy.usage import estimate_usage, normalise_usage
from chat.runs.store import RunContext, RunOutcome, message_metadata
from chat.storable import storable, unstorable_count


@dataclass
class Record:
    """What the run's record says beyond its status (`Run.notes` and the fields beside)."""

    notes: list[str] = field(default_factory=list)
    skipped_events: int = 0
    upstream_error: dict[str, Any] | None = None
    tool_outputs: dict[str, str] = field(default_factory=dict)  # by call id
    upstream_run_id: str = ""
    timeline: dict[str, Any] | None = None  # `chat.runs.timeline`


def user_message(ctx: RunContext) -> dict[str, Any]:
    """The user's message as the run's first frame shows it."""
    return {
        "id": f"msg_local_{ctx.user_message_id}",
        "object": "thread.message",
        "created_at": int(ctx.user_created_at.timestamp()),
        "role": "user",
        "status": "completed",
        "content": [{"type": "text", "text": {"value": ctx.user_text, "annotations": []}}],
        "metadata": {"message_id": ctx.user_message_id},
    }


def run_outcome(
    acc: RunAccumulator,
    *,
    status: str,
    last_error: dict[str, Any] | None,
    prompt_text: str,
    first_token_at: dt.datetime | None = None,
    keeps_conversation: bool = False,
    record: Record | None = None,
) -> RunOutcome:
    """The run's final state from what its accumulator holds. Usage the upstream did not
    report is estimated (and said to be). `keeps_conversation`: a Responses upstream that
    chains the conversation to its last completed response."""
    record = record or Record()
    replies = {m.get("id", ""): m for m in acc.messages if m.get("role") != "user"}
    fallback = "completed" if status == "completed" else "incomplete"
    texts = {uid: message_text(m) for uid, m in replies.items()}
    usage = normalise_usage(acc.usage)
    if usage is None:
        completion = "".join(texts.values())
        usage = estimate_usage(prompt_text=prompt_text, completion_text=completion)
    notes = list(record.notes)
    replaced = sum(unstorable_count(text) for text in texts.values())
    if replaced:
        notes.append(f"{replaced} character(s) no database can store (NUL, lone surrogates) "
                     "were replaced with U+FFFD in the reply.")  # fmt: skip
    if record.skipped_events:
        notes.append(f"{record.skipped_events} malformed upstream event(s) were skipped.")
    return RunOutcome(
        status=status,
        messages={
            uid: (storable(texts[uid]), _message_status(m, fallback), _annotations(m))
            for uid, m in replies.items()
        },
        usage=usage,
        usage_estimated=bool(usage.get("estimated")),
        last_error=last_error,
        steps=_settled_steps(acc.steps, status, record.tool_outputs),
        metadata={uid: meta for uid, m in replies.items() if (meta := message_metadata(m))},
        first_token_at=first_token_at,
        model=(acc.run or {}).get("model") or "",
        conversation_handle=_conversation_handle(acc, status) if keeps_conversation else None,
        notes=notes,
        skipped_events=record.skipped_events,
        upstream_error=record.upstream_error,
        upstream_run_id=record.upstream_run_id,
        timeline=record.timeline,
    )


def end_event(
    acc: RunAccumulator, *, status: str, outcome: RunOutcome, run_id: str
) -> tuple[str, dict[str, Any]]:
    """The run's last frame when the engine, not the upstream's stream, ends it."""
    run = dict(acc.run or {"object": "thread.run"})
    run.update(id=run_id or run.get("id"), status=status)
    run.update(last_error=outcome.last_error, usage=outcome.usage)
    if status == "incomplete" and outcome.last_error:
        run["incomplete_details"] = {"reason": outcome.last_error.get("code")}
    return f"thread.run.{status}", run


def _settled_steps(
    steps: list[dict[str, Any]], status: str, outputs: dict[str, str]
) -> list[dict[str, Any]]:
    """Steps as they are kept: none left `in_progress` by a run that ended (a tool round
    whose continuation failed), and each function call with the output the app gave it."""
    ended = {"completed": "completed", "cancelled": "cancelled"}.get(status, "failed")
    settled = []
    for step in steps:
        step = copy.deepcopy(step)
        if step.get("status") in (None, "in_progress"):
            step["status"] = ended
        for call in ((step.get("step_details") or {}).get("tool_calls")) or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and function.get("output") is None:
                function["output"] = outputs.get(str(call.get("id")))
        settled.append(step)
    return settled


def _conversation_handle(acc: RunAccumulator, status: str) -> str | None:
    """A Responses server keeps the conversation under its last response's id."""
    if status != "completed":
        return None
    metadata = (acc.run or {}).get("metadata") or {}
    return metadata.get("response_id") or None


def _message_status(message: dict[str, Any], default: str) -> str:
    status = message.get("status")
    return status if status in ("completed", "incomplete") else default


def _annotations(message: dict[str, Any]) -> list[Any]:
    found: list[Any] = []
    for block in message.get("content") or []:
        found.extend((block.get("text") or {}).get("annotations") or [])
    return found
