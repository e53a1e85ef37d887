"""Writes that users ask for: start threads and runs, rename, delete, cancel.

Each service validates its input, runs in one transaction and raises a `chat.errors`
ServiceError for anything the caller got wrong. None of them talks to an upstream: the view
hands the committed run to the run engine (`get_engine().launch(run.pk)`), which does.
"""

from __future__ import annotations

import math
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from assistants_proxy.usage import estimate_prompt_tokens
from chat import selectors
from chat.budgets.ledger import budget_reserve, budget_settle
from chat.errors import InvalidInput, NotFound, RateLimited, RunActive, RunEnded
from chat.models import Assistant, Message, Run, Thread
from chat.runs.accounting import run_account_end
from chat.runs.lease_store import run_held_or_queued
from chat.runs.titles import title_from
from chat.storable import unstorable_count

TITLE_MAX_CHARS = 200
RATE_WINDOW = timedelta(seconds=60)  # RUNS_PER_MINUTE counts the runs started in this


def thread_create(
    *, owner: User, content: str, assistant: Assistant | None = None
) -> tuple[Thread, Run]:
    """A new thread, its first user message and a queued run.

    The engine sees a run whose thread has no `upstream_thread_id` yet and creates both
    upstream at once (createThreadAndRun).
    """
    content = clean_content(content)
    assistant = assistant or _default_assistant()
    with transaction.atomic():
        check_rate(owner.pk)
        reserved = _reserve(owner.pk, content)
        thread = Thread.objects.create(owner=owner, assistant=assistant, title=title_from(content))
        run = _run_create(thread=thread, content=content, parent_id=None, reserved=reserved)
    return thread, run


def run_start(*, thread: Thread, content: str) -> Run:
    """A user message and a queued run on an existing thread; RunActive while one runs."""
    return run_start_for(user_id=thread.owner_id, thread_id=thread.pk, content=content)


def run_start_for(*, user_id: int, thread_id: int, content: str) -> Run:
    """`run_start` on the user's thread `thread_id`; NotFound if the user has no such thread.

    One query finds the thread (with its assistant) and locks it: concurrent starts on one
    thread queue up there on PostgreSQL (SQLite's IMMEDIATE transactions serialise anyway).
    A thread with a run still active is refused by the `one_active_run_per_thread`
    constraint itself, not by a query before the insert. The run's `user_message` is set.
    """
    content = clean_content(content)
    with transaction.atomic():
        thread = thread_lock(user_id=user_id, thread_id=thread_id)
        check_rate(user_id)
        # Sent on the branch on show: after its end.
        reserved = _reserve(user_id, content)
        run = _run_create(
            thread=thread, content=content, parent_id=branch_end(thread), reserved=reserved
        )
        thread_touch(thread)
    return run


def thread_lock(*, user_id: int, thread_id: int) -> Thread:
    """The user's thread with its assistant, locked for the caller's transaction: concurrent
    writes to one thread queue up here on PostgreSQL. NotFound if the user has no such
    thread."""
    try:
        return (
            Thread.objects.select_for_update(of=("self",))
            .select_related("assistant")
            .get(pk=thread_id, owner_id=user_id)
        )
    except Thread.DoesNotExist:
        raise NotFound("No such thread.") from None


def thread_touch(thread: Thread) -> None:
    """Save the thread's leaf, and bump it to the top of the list (one UPDATE)."""
    thread.save(update_fields=["updated_at", "leaf"])


def branch_end(thread: Thread) -> int | None:
    # No leaf: the newest message's branch, whose end is the newest message.
    if thread.leaf_id is not None:
        return thread.leaf_id
    return thread.messages.order_by("-pk").values_list("pk", flat=True).first()


def thread_rename(*, thread: Thread, title: str) -> Thread:
    title = title.strip()
    if not title:
        raise InvalidInput("The title cannot be empty.", code="empty_title")
    check_storable(title, "title")
    if len(title) > TITLE_MAX_CHARS:
        raise InvalidInput(
            f"The title is longer than {TITLE_MAX_CHARS} characters.", code="title_too_long"
        )
    thread.title = title
    thread.save(update_fields=["title", "updated_at"])
    return thread


def thread_delete(*, thread: Thread) -> None:
    """Delete the thread with its messages and runs (the caller stops an active run first,
    and deletes the upstream copy: `RunEngine.delete_upstream_thread`). What its active runs
    hold of the user's budget is released: they will never end to release it."""
    with transaction.atomic():
        # The thread's runs locked first: a run ending meanwhile (`store.run_finish` locks
        # its run too) either saved its steps and replies before (and they are deleted
        # with it) or finds its run gone; otherwise its rows arrived after the cascade
        # collected what to delete, and the delete failed on them.
        list(thread.runs.select_for_update().values_list("pk", flat=True))
        active = thread.runs.filter(status__in=Run.ACTIVE_STATUSES)
        held = sum(active.values_list("budget_reserved", flat=True))
        if held:
            budget_settle(user_id=thread.owner_id, reserved=held, used=0, now=timezone.now())
        thread.delete()


def run_cancel_request(*, run: Run) -> Run:
    """Mark an active run `cancelling`; the caller then asks the engine to stop it."""
    # Conditional UPDATE: the engine may end the run between our read and this write, and a
    # finished run must never be turned back into an active one.
    updated = Run.objects.filter(pk=run.pk, status__in=Run.ACTIVE_STATUSES).update(
        status=Run.Status.CANCELLING
    )
    if not updated:
        raise RunEnded("This run has already ended.")
    run.refresh_from_db()
    return run


def run_cancel_orphaned(*, run: Run) -> Run:
    """Finish a cancelling run that no engine is executing (it was never launched, or its
    process died): nobody else will ever move it out of the active set. Its reply keeps the
    text last saved, marked incomplete."""
    with transaction.atomic():
        if Run.objects.filter(pk=run.pk, status__in=Run.ACTIVE_STATUSES).update(
            status=Run.Status.CANCELLED, completed_at=timezone.now()
        ):
            run_account_end(run_id=run.pk)
        run.messages.filter(status=Message.Status.IN_PROGRESS).update(
            status=Message.Status.INCOMPLETE, updated_at=timezone.now()
        )
    run.refresh_from_db()
    return run


def run_stop(*, run: Run) -> bool:
    """Stop a run from any process (the admin's live board). It is marked `cancelling`, the
    one way a cancel reaches the process executing it: that process's next lease renewal
    finds it and stops it (`chat.runs.leases`). A run nobody holds is ended here. True when
    a process will stop it."""
    run = run_cancel_request(run=run)
    if run_held_or_queued(run.pk):
        return True
    run_cancel_orphaned(run=run)
    return False


def run_create(
    *, thread: Thread, content: str, parent_id: int | None, prompt: Message | None = None
) -> Run:
    """A queued run in the caller's transaction, with `run.user_message` set: the new user
    message with `content` after `parent_id`, or, for a reply made again, `prompt` (then
    `content` is not used). The thread then shows the newest message's branch, the new run's
    (the caller saves the thread)."""
    reserved = _reserve(thread.owner_id, content if prompt is None else prompt.content)
    if prompt is None:
        return _run_create(thread=thread, content=content, parent_id=parent_id, reserved=reserved)
    run = _run_insert(thread, prompt=prompt, reserved=reserved)
    run.user_message = prompt
    thread.leaf_id = None
    return run


def _run_insert(thread: Thread, *, prompt: Message | None = None, reserved: int = 0) -> Run:
    """`reserved`: the tokens the run holds of its user's budget."""
    try:
        return Run.objects.create(
            thread=thread,
            assistant=thread.assistant,
            model=thread.assistant.model,
            prompt=prompt,
            budget_reserved=reserved,
        )
    except IntegrityError as exc:
        # one_active_run_per_thread. The error leaves the transaction unusable on
        # PostgreSQL: nothing else is written, the caller's transaction rolls back.
        raise RunActive("A reply is still being written in this thread.") from exc


def _run_create(*, thread: Thread, content: str, parent_id: int | None, reserved: int) -> Run:
    """The run and its user message, in the caller's transaction; `run.user_message` is the
    message."""
    run = _run_insert(thread, reserved=reserved)
    # By id, not by instance: the message then holds no reference back to the run that
    # holds it (a cycle, left for a full collection of the garbage collector).
    run.user_message = Message.objects.create(
        thread_id=thread.pk,
        owner_id=thread.owner_id,
        run_id=run.pk,
        parent_id=parent_id,
        role=Message.Role.USER,
        content=content,
        status=Message.Status.COMPLETED,
    )
    thread.leaf_id = None  # the new message is the newest: its branch is the one on show
    return run


def run_start_on_messages(*, user_id: int, thread_id: int, assistant: Assistant) -> Run:
    """A queued run of `assistant` answering the user's thread as it stands: the Assistants
    API adds messages first and starts a run after (`chat.v1`). The same rate limit, budget
    and one-active-run rule as `run_start_for`. The user messages no run has answered yet
    become the run's; `run.user_message` is the last of them (or the thread's last user
    message, for a run that answers again). NotFound, or InvalidInput for a thread with no
    user message."""
    with transaction.atomic():
        thread = thread_lock(user_id=user_id, thread_id=thread_id)
        last = thread.messages.filter(role=Message.Role.USER).order_by("-pk").first()
        if last is None:
            raise InvalidInput("The thread has no user message to answer.", code="no_message")
        check_rate(user_id)
        thread.assistant = assistant
        thread.save(update_fields=["assistant", "updated_at"])
        pending = thread.messages.filter(role=Message.Role.USER, run=None)
        run = _run_insert(thread, reserved=_reserve(user_id, _texts(pending) or last.content))
        pending.update(run=run)
        last.run_id = last.run_id or run.pk
        run.user_message = last
    return run


def _reserve(user_id: int, content: str) -> int:
    # The new message's tokens only: the history sent with it is counted once the engine
    # has built the request, and any shortfall is asked for then (`chat.budgets.ledger`).
    return budget_reserve(
        user_id=user_id, prompt_tokens=estimate_prompt_tokens([{"content": content}])
    )


def _texts(messages: QuerySet[Message]) -> str:
    return "\n".join(m.content for m in messages)


def clean_content(content: str) -> str:
    content = content.strip()
    if not content:
        raise InvalidInput("The message is empty.", code="empty_content")
    limit = settings.MAX_MESSAGE_CHARS
    if len(content) > limit:
        raise InvalidInput(
            f"The message is longer than {limit:,} characters.", code="content_too_long"
        )
    check_storable(content, "message")
    return content


def check_storable(text: str, what: str) -> None:
    # Refused, not cleaned: the user should know the text they sent is not what is kept.
    if unstorable_count(text):
        raise InvalidInput(
            f"The {what} contains a NUL character or an unpaired surrogate, which cannot be "
            "stored. Remove it and send again.",
            code="unstorable_text",
        )


def _default_assistant() -> Assistant:
    assistant = selectors.assistant_default()
    if assistant is None:
        raise InvalidInput("No assistant is configured.", code="no_assistant")
    return assistant


def check_rate(user_id: int) -> None:
    # Counted from Run rows, so it holds across processes without a cache. Two requests at
    # the same instant can both pass; one run over the limit is acceptable.
    now = timezone.now()
    started, first = selectors.runs_started_since(user_id=user_id, since=now - RATE_WINDOW)
    if started >= settings.RUNS_PER_MINUTE:
        # The window slides: a run can start again once the first run in it leaves.
        wait = (first or now) + RATE_WINDOW - now
        raise RateLimited(
            "Too many messages in the last minute; wait a moment.",
            retry_after=max(1, math.ceil(wait.total_seconds())),
        )
