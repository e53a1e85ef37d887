"""The run engine's writes. Synchronous ORM code, called through `database_sync_to_async`
from one serial writer per run (see `execution.Writer`), so that a run's writes happen in the
order the stream produced them and the relay never waits for the database.

State is persisted, never tokens: the run's start, the assistant message's creation, a
checkpoint of its text about once a second (batched across runs: `Checkpoint`), and
everything final in one transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from chat.models import Assistant, Message, Run, RunStep, Thread


@dataclass
class RunContext:
    run_id: int
    thread_id: int
    assistant: Assistant
    upstream_thread_id: str
    user_message_id: int
    user_text: str
    user_created_at: dt.datetime
    # Oldest first, ending with the new user message; only that one when the upstream
    # holds the conversation itself.
    history: list[dict[str, str]] = field(default_factory=list)


@dataclass
class RunOutcome:
    status: str
    # upstream message id -> (text, status, annotations)
    messages: dict[str, tuple[str, str, list[Any]]] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    usage_estimated: bool = False
    last_error: dict[str, Any] | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    first_token_at: dt.datetime | None = None
    model: str = ""
    conversation_handle: str | None = None  # the thread's new upstream id, if it changes
    # upstream message id -> what the browser shows beside the text (MESSAGE_METADATA_KEYS)
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)


# The message metadata worth keeping: the rest is the upstream's bookkeeping.
MESSAGE_METADATA_KEYS = ("reasoning_summary", "refusal")


def message_metadata(message: dict[str, Any]) -> dict[str, Any]:
    metadata = message.get("metadata") or {}
    return {key: metadata[key] for key in MESSAGE_METADATA_KEYS if metadata.get(key)}


def run_context_load(run_id: int) -> RunContext:
    run = Run.objects.select_related("thread", "assistant").get(pk=run_id)
    user_message = run.messages.filter(role=Message.Role.USER).order_by("pk").last()
    if user_message is None:
        raise Run.DoesNotExist(f"run {run_id} has no user message")
    return run_context(run, user_message)


def run_context(run: Run, user_message: Message) -> RunContext:
    """The context of a run whose thread, assistant and user message are in hand (a run
    just started: `services.run_start_for`). Queries only for a stateless upstream's
    history."""
    thread, assistant = run.thread, run.assistant
    upstream_holds_history = bool(thread.upstream_thread_id) and (
        assistant.protocol in ("assistants", "responses")
    )
    history = (
        [{"role": "user", "content": user_message.content}]
        if upstream_holds_history
        else _history(run.thread_id, up_to=user_message.pk)
    )
    return RunContext(
        run_id=run.pk,
        thread_id=run.thread_id,
        assistant=assistant,
        upstream_thread_id=thread.upstream_thread_id,
        user_message_id=user_message.pk,
        user_text=user_message.content,
        user_created_at=user_message.created_at,
        history=history,
    )


HISTORY_MESSAGES = 200


def _history(thread_id: int, *, up_to: int) -> list[dict[str, str]]:
    """The thread's messages as a stateless upstream needs them; the budget trims later."""
    rows = (
        Message.objects.filter(thread_id=thread_id, pk__lte=up_to)
        .exclude(content="")
        .order_by("-pk")
        .values_list("role", "content")[:HISTORY_MESSAGES]
    )
    return [{"role": role, "content": content} for role, content in reversed(rows)]


def assistant_remember_upstream_id(*, assistant_id: int, upstream_id: str) -> None:
    Assistant.objects.filter(pk=assistant_id).update(upstream_assistant_id=upstream_id)


def run_mark_started(
    *,
    run_id: int,
    thread_id: int,
    upstream_thread_id: str,
    upstream_run_id: str,
    model: str,
    thread_is_new: bool,
) -> None:
    # A transaction only for two statements: one is atomic on its own.
    with transaction.atomic() if thread_is_new else contextlib.nullcontext():
        # One statement, conditional on the status: a cancel request may have moved the run
        # on meanwhile, and that must not be undone.
        Run.objects.filter(pk=run_id).update(
            upstream_run_id=upstream_run_id,
            started_at=timezone.now(),
            model=model,
            status=Case(
                When(status=Run.Status.QUEUED, then=Value(Run.Status.IN_PROGRESS)),
                default=F("status"),
            ),
        )
        if thread_is_new:
            Thread.objects.filter(pk=thread_id).update(upstream_thread_id=upstream_thread_id)


def assistant_message_open(*, run_id: int, thread_id: int, upstream_message_id: str) -> int:
    message = Message.objects.create(
        thread_id=thread_id,
        run_id=run_id,
        role=Message.Role.ASSISTANT,
        status=Message.Status.IN_PROGRESS,
        upstream_message_id=upstream_message_id,
    )
    return message.pk


@dataclass(slots=True)
class Checkpoint:
    """A streaming message's text so far, for the run's writer. Its row is looked up when
    the write runs (`message_pks` is filled by the write that creates it, queued earlier).

    The writer runs the checkpoints queued next to each other in one batch
    (`run_batch`): with 200 streams, each checkpointing once a second, that is one
    statement sent many times in one transaction, not 200 ORM updates and commits a second."""

    message_pks: dict[str, int]
    upstream_id: str
    content: str

    def __call__(self) -> None:
        message_checkpoints([self])

    @classmethod
    def run_batch(cls, checkpoints: Sequence[Checkpoint]) -> None:
        message_checkpoints(checkpoints)


def message_checkpoints(checkpoints: Sequence[Checkpoint]) -> None:
    """Each message's text so far: one UPDATE statement, executed for every row, in one
    transaction. Raw SQL on this hot path: the ORM's update builds and compiles a query
    for each row."""
    rows = [
        (c.content, pk) for c in checkpoints if (pk := c.message_pks.get(c.upstream_id)) is not None
    ]
    if not rows:
        return
    updated_at = connection.ops.adapt_datetimefield_value(timezone.now())
    quote = connection.ops.quote_name
    content, updated, key = (quote(_column(Message, f)) for f in ("content", "updated_at", "id"))
    table = quote(Message._meta.db_table)
    sql = f"UPDATE {table} SET {content} = %s, {updated} = %s WHERE {key} = %s"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, [(text, updated_at, pk) for text, pk in rows])


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field.column


def run_finish(*, run_id: int, outcome: RunOutcome, message_pks: dict[str, int]) -> None:
    usage = outcome.usage
    with transaction.atomic():
        for upstream_id, (content, status, annotations) in outcome.messages.items():
            if upstream_id not in message_pks:
                continue
            extra = outcome.metadata.get(upstream_id)
            Message.objects.filter(pk=message_pks[upstream_id]).update(
                content=content,
                status=status,
                annotations=annotations,
                updated_at=timezone.now(),
                **({"metadata": extra} if extra else {}),
            )
        Run.objects.filter(pk=run_id, status__in=Run.ACTIVE_STATUSES).update(
            status=outcome.status,
            completed_at=timezone.now(),
            first_token_at=outcome.first_token_at,
            last_error=outcome.last_error,
            prompt_tokens=usage.get("prompt_tokens") or 0,
            completion_tokens=usage.get("completion_tokens") or 0,
            total_tokens=usage.get("total_tokens") or 0,
            cached_tokens=usage.get("cached_tokens"),
            reasoning_tokens=usage.get("reasoning_tokens"),
            usage_estimated=outcome.usage_estimated,
            **({"model": outcome.model} if outcome.model else {}),
        )
        if outcome.conversation_handle:
            Thread.objects.filter(runs=run_id).update(
                upstream_thread_id=outcome.conversation_handle
            )
        if outcome.steps:
            RunStep.objects.bulk_create([_step_row(run_id, step) for step in outcome.steps])


def _step_row(run_id: int, step: dict[str, Any]) -> RunStep:
    return RunStep(
        run_id=run_id,
        upstream_step_id=str(step.get("id") or ""),
        type=step.get("type") or RunStep.Type.MESSAGE_CREATION,
        status=step.get("status") or RunStep.Status.COMPLETED,
        step_details=step.get("step_details") or {},
        usage=step.get("usage"),
    )
