"""The lease protocol's statements (`chat.runs.leases`): claim a run, renew the leases a
process holds, find runs a dead process left, and end a cancelled run nobody started.
Synchronous ORM code, awaited through `database_sync_to_async`."""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Sequence

from django.conf import settings
from django.db import models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from chat.models import Run
from chat.runs.accounting import run_account_end


def run_ids_unheld() -> list[int]:
    """Active runs under no live lease: at a lone process's start, the ones a dead process
    left. A run under a live lease is being executed by a live process: not ours; a lease
    whose owner was a process of this host that is gone (killed) holds nothing."""
    live_lease = Q(lease_expires_at__gt=timezone.now()) & ~Q(lease_owner__in=dead_owners_here())
    active = Run.objects.filter(status__in=Run.ACTIVE_STATUSES).exclude(live_lease)
    return list(active.values_list("pk", flat=True))


def run_thread_id(run_id: int) -> int:
    return Run.objects.values_list("thread_id", flat=True).get(pk=run_id)


def run_held_or_queued(run_id: int) -> bool:
    """Whether some process will end the run: one holds its lease, or (with workers) it
    waits in the queue, and the worker that takes it ends it."""
    held = Q(lease_expires_at__gt=timezone.now())
    if settings.RUN_EXECUTION == "worker":
        held |= Q(lease_owner="")
    return Run.objects.filter(held, pk=run_id, status__in=Run.ACTIVE_STATUSES).exists()


def run_claim(
    *,
    run_id: int,
    owner: str,
    lease: dt.timedelta,
    dead_owners: Sequence[str] = (),
    unless_cancelling: bool = False,
) -> bool:
    """Take the run's lease: one conditional UPDATE, which only one process can win while
    nobody else holds a live lease on it (a lease held by a process known to be dead, one of
    `dead_owners`, is not live). `unless_cancelling`: not a run someone asked to stop."""
    now = timezone.now()
    free = Q(lease_owner="") | Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)
    if dead_owners:
        free |= Q(lease_owner__in=list(dead_owners))
    stopping = Run.Status.CANCELLING if unless_cancelling else None
    statuses = [status for status in Run.ACTIVE_STATUSES if status != stopping]
    claimed = Run.objects.filter(free, pk=run_id, status__in=statuses).update(
        lease_owner=owner, lease_expires_at=now + lease
    )
    return bool(claimed)


def lease_owners() -> list[str]:
    """The processes holding leases on active runs."""
    active = Run.objects.filter(status__in=Run.ACTIVE_STATUSES).exclude(lease_owner="")
    return list(active.values_list("lease_owner", flat=True).distinct())


def dead_owners_here() -> list[str]:
    """The lease owners that were processes of this host and are gone (killed)."""
    return [owner for owner in lease_owners() if _gone_from_this_host(owner)]


def _gone_from_this_host(owner: str) -> bool:
    """A lease owner (`engine.process_name`) that was a process of this host, now gone: its
    runs need not wait for their leases to run out (a supervisor restarting a killed server
    would otherwise leave its threads answering 409 for a lease's length)."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


def runs_renew(
    *, run_ids: Sequence[int], owner: str, lease: dt.timedelta, streamed: dict[int, int]
) -> list[int]:
    """Renew the owner's leases and note each run's tokens so far (for the live board), in
    one UPDATE; returns the runs someone asked to stop (their cancel message may be lost)."""
    held = Run.objects.filter(pk__in=list(run_ids), lease_owner=owner)
    tokens = [When(pk=run_id, then=Value(count)) for run_id, count in streamed.items()]
    live = Case(*tokens, default=F("live_tokens"), output_field=models.PositiveIntegerField())
    held.update(lease_expires_at=timezone.now() + lease, live_tokens=live)
    return list(held.filter(status=Run.Status.CANCELLING).values_list("pk", flat=True))


def runs_orphaned(
    *, lease: dt.timedelta, dead_owners: Sequence[str] = ()
) -> list[tuple[int, bool]]:
    """Active runs whose process is gone: their lease ran out, or its owner is one of
    `dead_owners`, or nobody ever claimed them. Each with whether it had started upstream."""
    now = timezone.now()
    gone = Q(lease_expires_at__lt=now) | Q(lease_owner="", created_at__lt=now - lease)
    if dead_owners:
        gone |= Q(lease_owner__in=list(dead_owners))
    rows = Run.objects.filter(gone, status__in=Run.ACTIVE_STATUSES).values_list(
        "pk", "upstream_run_id"
    )
    return [(pk, bool(upstream_run_id)) for pk, upstream_run_id in rows]


def run_cancel_unstarted(run_id: int) -> int | None:
    """A run cancelled before anyone executed it ends as cancelled; returns its thread."""
    with transaction.atomic():
        ended = Run.objects.filter(
            pk=run_id, status=Run.Status.CANCELLING, upstream_run_id=""
        ).update(status=Run.Status.CANCELLED, completed_at=timezone.now())
        if ended:
            run_account_end(run_id=run_id)
    return Run.objects.values_list("thread_id", flat=True).get(pk=run_id) if ended else None
