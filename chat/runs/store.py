"""The run engine's reads and writes. Synchronous ORM code: a run's writes go through its
serial writer (`chat.runs.writer.Writer`), so that they happen in the order the stream
produced them and the relay never waits for the database; the lease protocol's statements
(`chat.runs.leases`) are awaited through `database_sync_to_async`.

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
from chat.runs import branch_history as branch
from chat.runs.accounting import run_account_end
from chat.runs.overrides import run_assistant
from chat.storable import storable, storable_json


@dataclass
class RunContext:
    run_id: int
    thread_id: int
    owner_id: int  # the thread's: its replies' `Message.owner`
    assistant: Assistant
    upstream_thread_id: str
    user_message_id: int
    user_text: str
    user_created_at: dt.datetime
    # Tokens the run holds of its user's budget at its start (0: no budget).
    budget_reserved: int = 0
    # Oldest first, ending with the new user message; only that one when the upstream
    # holds the conversation itself.
    history: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the run's record, from the start
    # The text of the reply this run goes on from (`Run.continues`): sent as the start of the
    # answer, and the start of the new reply.
    prefill: str = ""
    # The thread's first exchange: once its reply ends, the thread gets a title (`titles`).
    first_exchange: bool = False


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
    notes: list[str] = field(default_factory=list)  # `Run.notes`
    skipped_events: int = 0
    upstream_error: dict[str, Any] | None = None
    upstream_run_id: str = ""  # saved here too, in case the run's start was never saved
    timeline: dict[str, Any] | None = None  # `Run.timeline`


# The message metadata worth keeping: the rest is the upstream's bookkeeping.
MESSAGE_METADATA_KEYS = ("reasoning_summary", "refusal")


def message_metadata(message: dict[str, Any]) -> dict[str, Any]:
    metadata = message.get("metadata") or {}
    return {key: metadata[key] for key in MESSAGE_METADATA_KEYS if metadata.get(key)}


def run_context_load(run_id: int) -> RunContext:
    """The context of a run handed over by id (a worker's queue, a sweep): its user message
    with the run, thread and assistant, in one query (a worker starting 50 runs a second
    spent a tenth of its CPU on two). A regenerated reply's run answers an older message
    (`Run.prompt`), and a run with no message of its own the thread's last one, found by a
    second query."""
    user_message = (
        Message.objects.select_related("run__thread", "run__assistant")
        .filter(run_id=run_id, role=Message.Role.USER)
        .order_by("-pk")
        .first()
    )
    if user_message is not None and user_message.run is not None:
        return run_context(user_message.run, user_message)
    run = Run.objects.select_related("thread", "assistant", "prompt").filter(pk=run_id).first()
    prompt = None if run is None else run.prompt or _last_user_message(run)
    if run is None or prompt is None:
        raise Run.DoesNotExist(f"run {run_id} has no user message")
    return run_context(run, prompt)


def _last_user_message(run: Run) -> Message | None:
    """What a run started with no message of its own answers (the Assistants API's run on a
    thread with no new message: `services.run_start_on_messages`): the thread's last user
    message when the run was made."""
    before = Message.objects.filter(
        thread_id=run.thread_id, role=Message.Role.USER, created_at__lte=run.created_at
    )
    return before.order_by("-pk").first()


def run_context(run: Run, user_message: Message) -> RunContext:
    """The context of a run whose thread, assistant and user message are in hand (a run
    just started: `services.run_start_for`). Queries only for the history an upstream does
    not hold."""
    thread, assistant = run.thread, run_assistant(run)
    upstream_thread_id = thread.upstream_thread_id
    notes = []
    if branch.upstream_holds_history(
        assistant, upstream_thread_id
    ) and not branch.upstream_on_branch(run, user_message):
        # The upstream's conversation is another branch's: this one gets its own, built
        # from our database (the old one is left as it is: other branches may return).
        upstream_thread_id = ""
        notes.append(branch.BRANCH_NOTE)
    if not branch.upstream_holds_history(assistant, upstream_thread_id):
        history = branch.thread_history(run.thread_id, up_to=user_message.pk)
    elif assistant.protocol == "responses":
        # The chain ends at the last completed reply: a stopped or failed turn since then is
        # not in it, and is sent with the new message.
        history = branch.thread_history(
            run.thread_id, up_to=user_message.pk, after=branch.chained_up_to(run)
        )
    else:
        history = [{"role": "user", "content": user_message.content}]
    prefill = branch.continued_text(run)
    if prefill:
        history.append({"role": "assistant", "content": prefill})
    return RunContext(
        run_id=run.pk,
        thread_id=run.thread_id,
        owner_id=thread.owner_id,
        assistant=assistant,
        upstream_thread_id=upstream_thread_id,
        user_message_id=user_message.pk,
        user_text=user_message.content,
        user_created_at=user_message.created_at,
        budget_reserved=run.budget_reserved,
        history=history,
        notes=notes,
        prefill=prefill,
        first_exchange=user_message.parent_id is None and run.prompt_id is None,
    )


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


def assistant_message_open(
    *, run_id: int, thread: tuple[int, int], upstream_message_id: str, parent_id: int | None
) -> int:
    """A reply's row after `parent_id` (its user message, or the run's previous reply), in
    `thread`: its id and its owner's."""
    message = Message.objects.create(
        thread_id=thread[0],
        owner_id=thread[1],
        run_id=run_id,
        parent_id=parent_id,
        role=Message.Role.ASSISTANT,
        status=Message.Status.IN_PROGRESS,
        upstream_message_id=upstream_message_id,
    )
    return message.pk


def reply_parent(run_id: int, message_pks: dict[str, int]) -> int | None:
    """Where a run's next reply goes: after its last reply, else after its user message."""
    if message_pks:
        return max(message_pks.values())
    run = Run.objects.values_list("prompt_id", flat=True).get(pk=run_id)
    own = Message.objects.filter(run_id=run_id, role=Message.Role.USER).values_list("pk", flat=True)
    return run or own.first()


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
        (storable(c.content), pk)
        for c in checkpoints
        if (pk := c.message_pks.get(c.upstream_id)) is not None
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
    """Everything final, in one transaction. A reply the run never saw created (its final
    state came from the upstream afterwards, or its creation was not saved) gets its row
    here; a reply row the outcome does not name is left incomplete, not in progress. JSON is
    made storable first: PostgreSQL refuses a NUL even inside it."""
    pks = dict(message_pks)  # a retried save must not see rows a rolled-back one made
    with transaction.atomic():
        # The run's row first, which locks it: a thread deleted while its reply streamed
        # took the run with it, and the reply's rows would point at nothing. When the run
        # had already ended, a lock of its own (the rare path) tells whether it is there.
        ended = Run.objects.filter(pk=run_id, status__in=Run.ACTIVE_STATUSES)
        ended_here = ended.update(**_run_end(outcome))
        if not ended_here and not Run.objects.select_for_update().filter(pk=run_id).exists():
            return
        done = [_save_reply(run_id, uid, outcome, pks) for uid in outcome.messages]
        Message.objects.filter(run_id=run_id, status=Message.Status.IN_PROGRESS).exclude(
            pk__in=done
        ).update(status=Message.Status.INCOMPLETE, updated_at=timezone.now())
        if ended_here:
            run_account_end(run_id=run_id)
        if outcome.conversation_handle:
            Thread.objects.filter(runs=run_id).update(
                upstream_thread_id=outcome.conversation_handle
            )
        if outcome.steps:
            RunStep.objects.bulk_create([_step_row(run_id, step) for step in outcome.steps])


def _save_reply(run_id: int, upstream_id: str, outcome: RunOutcome, pks: dict[str, int]) -> int:
    content, status, annotations = outcome.messages[upstream_id]
    pk = pks.get(upstream_id)
    if pk is None:
        thread = Run.objects.values_list("thread_id", "thread__owner_id").get(pk=run_id)
        pk = pks[upstream_id] = assistant_message_open(
            run_id=run_id,
            thread=thread,
            upstream_message_id=upstream_id,
            parent_id=reply_parent(run_id, pks),
        )
    extra = outcome.metadata.get(upstream_id)
    Message.objects.filter(pk=pk).update(
        content=content,
        status=status,
        annotations=storable_json(annotations)[0],
        updated_at=timezone.now(),
        **({"metadata": storable_json(extra)[0]} if extra else {}),
    )
    return pk


def _run_end(outcome: RunOutcome) -> dict[str, Any]:
    usage = outcome.usage
    return {
        "status": outcome.status,
        "completed_at": timezone.now(),
        "first_token_at": outcome.first_token_at,
        "last_error": storable_json(outcome.last_error)[0],
        "prompt_tokens": usage.get("prompt_tokens") or 0,
        "completion_tokens": usage.get("completion_tokens") or 0,
        "total_tokens": usage.get("total_tokens") or 0,
        "cached_tokens": usage.get("cached_tokens"),
        "reasoning_tokens": usage.get("reasoning_tokens"),
        "usage_estimated": outcome.usage_estimated,
        "notes": storable_json(outcome.notes)[0],
        "skipped_events": outcome.skipped_events,
        "upstream_error": storable_json(outcome.upstream_error)[0],
        **({"model": outcome.model} if outcome.model else {}),
        **({"upstream_run_id": outcome.upstream_run_id} if outcome.upstream_run_id else {}),
        **({"timeline": storable_json(outcome.timeline)[0]} if outcome.timeline else {}),
    }


def _step_row(run_id: int, step: dict[str, Any]) -> RunStep:
    step = storable_json(step)[0]
    return RunStep(
        run_id=run_id,
        upstream_step_id=str(step.get("id") or ""),
        type=step.get("type") or RunStep.Type.MESSAGE_CREATION,
        status=step.get("status") or RunStep.Status.COMPLETED,
        step_details=step.get("step_details") or {},
        usage=step.get("usage"),
    )


# -- settling and leases (`chat.runs.recovery`, `chat.runs.leases`) ------------------------


def run_replies(run_id: int) -> dict[str, tuple[int, str]]:
    """The run's assistant messages as checkpointed: upstream id -> (pk, text so far)."""
    rows = Message.objects.filter(run_id=run_id, role=Message.Role.ASSISTANT).order_by("pk")
    return {
        upstream_id or f"msg_local_{pk}": (pk, content)
        for pk, upstream_id, content in rows.values_list("pk", "upstream_message_id", "content")
    }
