"""What a run's end is recorded and announced as: its status, each reply's final text and
status, its usage and its error.

One rule for every way a run ends: its own stream said so, the engine ended it here (a
failure, a cancel, the server stopping), or its final state came from the upstream afterwards
(`recovery`, for a dropped stream or a dead process). Each of them feeds a `RunAccumulator`,
and the outcome is read from it here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from assistants_proxy.accumulator import RunAccumulator, message_text
from assistants_proxy.errors import AssistantsError, MalformedEventError, ProtocolError, StallError
from assistants_proxy.usage import estimate_usage, normalise_usage
from chat.runs.store import RunOutcome, message_metadata


def error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


INTERRUPTED = error("interrupted", "the server stopped while this reply streamed")
STREAM_ENDED_EARLY = error("stream_ended", "the upstream stream ended before the run did")
TOO_MANY_TOOL_ROUNDS = error(
    "too_many_tool_rounds", "the assistant kept calling tools without answering"
)


def error_for(exc: AssistantsError) -> dict[str, Any]:
    """The run's `last_error` for an upstream failure."""
    if isinstance(exc, StallError):
        return error("upstream_stalled", str(exc))
    if isinstance(exc, MalformedEventError | ProtocolError):
        return error("protocol_error", f"the upstream sent a malformed stream: {exc}")
    status = getattr(exc, "status_code", None)
    if status is not None:
        return error(f"upstream_http_{status}", str(exc))
    return error("upstream_unreachable", str(exc))


def error_from_event(data: dict[str, Any]) -> dict[str, Any]:
    """The run's `last_error` for an `error` event in the upstream's stream."""
    found = data.get("error")
    inner: dict[str, Any] = found if isinstance(found, dict) else data
    return error(
        str(inner.get("code") or "upstream_error"),
        str(inner.get("message") or "the upstream reported an error"),
    )


def run_outcome(
    acc: RunAccumulator,
    *,
    status: str,
    last_error: dict[str, Any] | None,
    prompt_text: str,
    first_token_at: dt.datetime | None = None,
    keeps_conversation: bool = False,
) -> RunOutcome:
    """The run's final state from what its accumulator holds. Usage the upstream did not
    report is estimated (and said to be). `keeps_conversation`: a Responses upstream, whose
    conversation goes on from the last completed response."""
    replies = {m.get("id", ""): m for m in acc.messages if m.get("role") != "user"}
    fallback = "completed" if status == "completed" else "incomplete"
    usage = normalise_usage(acc.usage)
    if usage is None:
        completion = "".join(message_text(m) for m in replies.values())
        usage = estimate_usage(prompt_text=prompt_text, completion_text=completion)
    return RunOutcome(
        status=status,
        messages={
            uid: (message_text(m), _message_status(m, fallback), _annotations(m))
            for uid, m in replies.items()
        },
        usage=usage,
        usage_estimated=bool(usage.get("estimated")),
        last_error=last_error,
        steps=acc.steps,
        metadata={uid: meta for uid, m in replies.items() if (meta := message_metadata(m))},
        first_token_at=first_token_at,
        model=(acc.run or {}).get("model") or "",
        conversation_handle=_conversation_handle(acc, status) if keeps_conversation else None,
    )


def end_event(
    acc: RunAccumulator, *, status: str, outcome: RunOutcome, run_id: str
) -> tuple[str, dict[str, Any]]:
    """The run's last frame when the engine, not the upstream's stream, ends it."""
    run = dict(acc.run or {"object": "thread.run"})
    run.update(id=run_id or run.get("id"), status=status)
    run.update(last_error=outcome.last_error, usage=outcome.usage)
    return f"thread.run.{status}", run


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
