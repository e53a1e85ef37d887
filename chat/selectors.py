"""Reads. Every selector that takes a `user` only ever sees that user's rows.

Someone else's thread is reported exactly like a missing one (`NotFound`), so that ids cannot
be probed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Min, OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate

from chat.branches import Branch, Node, RunNode, Tree
from chat.errors import InvalidInput, NotFound
from chat.models import Assistant, Message, Run, RunStep, Thread

AnyUser = AbstractBaseUser | AnonymousUser

_TOKEN_SUMS: dict[str, Any] = {
    "prompt_tokens": Coalesce(Sum("prompt_tokens"), 0),
    "completion_tokens": Coalesce(Sum("completion_tokens"), 0),
    "total_tokens": Coalesce(Sum("total_tokens"), 0),
    "runs": Count("pk"),
}


@dataclass(frozen=True)
class ThreadDetail:
    """The thread with the branch on show (`chat.branches`): its messages and runs only."""

    thread: Thread
    messages: list[Message]
    runs: list[Run]
    branch: Branch


def thread_list(*, user: AnyUser) -> QuerySet[Thread]:
    return Thread.objects.filter(owner_id=user.pk).order_by("-updated_at", "-pk")


def thread_get(*, user: AnyUser, thread_id: int) -> Thread:
    try:
        return Thread.objects.get(pk=thread_id, owner_id=user.pk)
    except Thread.DoesNotExist:
        raise NotFound("No such thread.") from None


def thread_detail(*, user: AnyUser, thread_id: int) -> ThreadDetail:
    try:
        # With its assistant: the page shows which one answers in this thread.
        thread = Thread.objects.select_related("assistant").get(pk=thread_id, owner_id=user.pk)
    except Thread.DoesNotExist:
        raise NotFound("No such thread.") from None
    # The tree from ids alone, then only the branch's rows in full: a thread of 1,000
    # messages in 50 branches shows about 40, and building the other rows' objects (texts,
    # runs, steps) was most of the time it took to open (docs/performance/conversation.md).
    branch = thread_tree_load(thread_id=thread.pk).branch(thread.leaf_id)  # None: the newest's
    messages = thread.messages.filter(pk__in=branch.message_ids).order_by("created_at", "pk")
    # Each run's steps (tool calls, usage) in the order they happened, in one query.
    runs = (
        thread.runs.filter(pk__in=branch.run_ids)
        .order_by("created_at", "pk")
        .prefetch_related(Prefetch("steps", queryset=RunStep.objects.order_by("created_at", "pk")))
    )
    return ThreadDetail(thread=thread, messages=list(messages), runs=list(runs), branch=branch)


def thread_tree(messages: Iterable[Message], runs: Iterable[Run]) -> Tree:
    return Tree(
        (Node(m.pk, m.parent_id, m.role, m.run_id) for m in messages),
        (RunNode(r.pk, r.prompt_id) for r in runs),
    )


def thread_tree_load(*, thread_id: int) -> Tree:
    """The thread's tree from its ids alone (switching branches needs no text)."""
    messages = Message.objects.filter(thread_id=thread_id).values_list(
        "pk", "parent_id", "role", "run_id"
    )
    runs = Run.objects.filter(thread_id=thread_id).values_list("pk", "prompt_id")
    return Tree((Node(*row) for row in messages), (RunNode(*row) for row in runs))


def thread_active_run_id(*, user: AnyUser, thread_id: int) -> int | None:
    """The user's thread's active run, if any, in one query (a socket opening on the
    thread asks this); NotFound when the user has no such thread."""
    active = Run.objects.filter(thread=OuterRef("pk"), status__in=Run.ACTIVE_STATUSES)
    row = (
        Thread.objects.filter(pk=thread_id, owner_id=user.pk)
        .annotate(active_run=Subquery(active.order_by("-pk").values("pk")[:1]))
        .values_list("pk", "active_run")
        .first()
    )
    if row is None:
        raise NotFound("No such thread.")
    return row[1]


def run_status(*, thread_id: int, run_id: int) -> str | None:
    """The status of a run of the thread, None when the thread has no such run (the caller
    has checked the thread is the user's)."""
    runs = Run.objects.filter(pk=run_id, thread_id=thread_id)
    return runs.values_list("status", flat=True).first()


def run_get(*, user: AnyUser, thread_id: int, run_id: int) -> Run:
    try:
        return Run.objects.get(pk=run_id, thread_id=thread_id, thread__owner_id=user.pk)
    except Run.DoesNotExist:
        raise NotFound("No such run.") from None


def runs_started_since(*, user_id: int, since: datetime) -> tuple[int, datetime | None]:
    """How many runs the user started since then, and when the first of them started."""
    runs = Run.objects.filter(thread__owner_id=user_id, created_at__gte=since)
    found = runs.aggregate(count=Count("pk"), first=Min("created_at"))
    return found["count"], found["first"]


def _offered() -> QuerySet[Assistant]:
    # The operator's: an assistant a user made over the API (`chat.v1`) is only theirs.
    return Assistant.objects.filter(owner=None)


def assistant_list() -> QuerySet[Assistant]:
    return _offered().order_by("-is_default", "name", "pk")


def assistant_get(*, assistant_id: int) -> Assistant:
    # The id comes from a request body, not the URL: an unknown one is a bad request.
    try:
        return _offered().get(pk=assistant_id)
    except Assistant.DoesNotExist:
        raise InvalidInput("No such assistant.", code="unknown_assistant") from None


def assistant_default() -> Assistant | None:
    return _offered().order_by("-is_default", "pk").first()


def _user_runs(user: AnyUser) -> QuerySet[Run]:
    return Run.objects.filter(thread__owner_id=user.pk)


def usage_totals(*, user: AnyUser) -> dict[str, int]:
    return _user_runs(user).aggregate(**_TOKEN_SUMS)


def usage_by_day(*, user: AnyUser) -> list[dict[str, Any]]:
    """One row per UTC day with runs, oldest first: {"date", token sums..., "runs"}."""
    rows = (
        _user_runs(user)
        .annotate(date=TruncDate("created_at"))
        .values("date")
        .annotate(**_TOKEN_SUMS)
        .order_by("date")
    )
    return list(rows)


def usage_by_model(*, user: AnyUser) -> list[dict[str, Any]]:
    """One row per model name, most tokens first: {"model", token sums..., "runs"}."""
    rows = _user_runs(user).values("model").annotate(**_TOKEN_SUMS)
    return list(rows.order_by("-total_tokens", "model"))
