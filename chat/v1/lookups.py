"""Reads of one user's objects by their API ids. Someone else's object, a deleted one and a
malformed id are all "not found", exactly alike, so that ids cannot be probed."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from chat import selectors
from chat.errors import NotFound
from chat.models import Assistant, Message, Run, RunStep, Thread
from chat.v1.ids import internal, unnamed

AnyUser = AbstractBaseUser | AnonymousUser


def assistants_of(user: AnyUser) -> QuerySet[Assistant]:
    return Assistant.objects.filter(owner_id=user.pk, deleted_at=None)


def assistant_get(user: AnyUser, assistant_id: str, *, own: bool = True) -> Assistant:
    """The user's assistant; with `own=False`, also one of the operator's (runs may use them,
    users may not change them)."""
    pk = internal("assistant", assistant_id)
    mine = Q(owner_id=user.pk) | (Q() if own else Q(owner=None))
    found = Assistant.objects.filter(mine, pk=pk, deleted_at=None).first()
    if found is None:
        raise NotFound(f"No assistant found with id '{assistant_id}'.")
    return found


def thread_get(user: AnyUser, thread_id: str) -> Thread:
    pk = internal("thread", thread_id)
    found = Thread.objects.select_related("assistant").filter(pk=pk, owner_id=user.pk).first()
    if found is None:
        raise NotFound(f"No thread found with id '{thread_id}'.")
    return found


def message_pk(thread: Thread, message_id: str) -> int:
    return _named_pk(thread.messages.all(), "msg", message_id, "upstream_message_id", "message")


def message_get(thread: Thread, message_id: str) -> Message:
    return thread.messages.get(pk=message_pk(thread, message_id))


def run_get(user: AnyUser, thread_id: str, run_id: str) -> Run:
    thread_pk, pk = internal("thread", thread_id), internal("run", run_id)
    runs = Run.objects.select_related("assistant")
    found = runs.filter(pk=pk, thread_id=thread_pk, thread__owner_id=user.pk).first()
    if found is None:
        raise NotFound(f"No run found with id '{run_id}'.")
    return found


def step_pk(run: Run, step_id: str) -> int:
    return _named_pk(run.steps.all(), "step", step_id, "upstream_step_id", "run step")


def _named_pk(rows: QuerySet[Any], prefix: str, value: str, upstream: str, what: str) -> int:
    """The pk of a message or step by its API id: ours (`msg_12`) or the upstream's name."""
    pk = unnamed(prefix, value)
    rows = rows.filter(pk=pk) if pk else rows.filter(**{upstream: value})
    first = rows.values_list("pk", flat=True).first()
    if first is None:
        raise NotFound(f"No {what} found with id '{value}'.")
    return int(first)


def step_get(run: Run, step_id: str) -> RunStep:
    return run.steps.get(pk=step_pk(run, step_id))


def messages_of(thread: Thread, *, run_id: str | None = None) -> QuerySet[Message]:
    """The branch on show, as the web page shows it (`selectors.thread_detail`): a thread
    with regenerated or edited messages lists one version of each. With `run_id`, the
    messages that run wrote (the user messages it answered are linked to it here, but the
    API says they were written by no run), whichever branch they are on."""
    rows = thread.messages.all()
    if run_id:
        return rows.filter(run_id=internal("run", run_id), role=Message.Role.ASSISTANT)
    tree = selectors.thread_tree_load(thread_id=thread.pk)
    return rows.filter(pk__in=tree.branch(thread.leaf_id).message_ids)
