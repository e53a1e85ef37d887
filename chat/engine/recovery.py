"""Runs interrupted by a dead server process, found at start-up and settled.

A run still marked active when a single server process starts was being executed by a process
that died. If the upstream knows the run, its final state is taken from there (the upstream
went on without us); otherwise the checkpointed partial text is kept, marked incomplete, and
the run fails as interrupted. Nothing the user saw is lost.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from channels.db import database_sync_to_async
from django.db.models import Q
from django.utils import timezone

from assistants_proxy.accumulator import message_text
from assistants_proxy.upstreams import make_upstream
from assistants_proxy.usage import estimate_usage, normalise_usage
from chat.engine import reconcile, store
from chat.engine.http import upstream_client
from chat.models import Message, Run

logger = logging.getLogger(__name__)

INTERRUPTED = {"code": "interrupted", "message": "the server stopped while this reply streamed"}


async def recover_interrupted_runs(*, wait: float = 10.0) -> list[int]:
    """Settle every run left active in the database; returns their ids."""
    run_ids = await database_sync_to_async(_active_run_ids)()
    async with upstream_client() as http:
        for run_id in run_ids:
            await recover_run(http, run_id, wait=wait)
    return run_ids


async def recover_run(http: httpx.AsyncClient, run_id: int, *, wait: float) -> Run:
    """Settle one run from its upstream's final state, or as interrupted; returns it."""
    run = await Run.objects.select_related("thread", "assistant").aget(pk=run_id)
    state = None
    if run.upstream_run_id and run.thread.upstream_thread_id:
        upstream = make_upstream(
            run.assistant.protocol,
            http,
            base_url=run.assistant.resolved_base_url(),
            api_key=run.assistant.api_key(),
            max_retries=1,
        )
        state = await reconcile.final_state(
            upstream, run.thread.upstream_thread_id, run.upstream_run_id, wait=wait
        )
    outcome, pks = await database_sync_to_async(_outcome)(run, state)
    await database_sync_to_async(store.run_finish)(run_id=run.pk, outcome=outcome, message_pks=pks)
    logger.info("recovered interrupted run %s as %s", run.pk, outcome.status)
    return run


def _active_run_ids() -> list[int]:
    # A run under a live lease is being executed by a run worker: not ours to settle.
    live_lease = Q(lease_expires_at__gt=timezone.now())
    active = Run.objects.filter(status__in=Run.ACTIVE_STATUSES).exclude(live_lease)
    return list(active.values_list("pk", flat=True))


def _outcome(
    run: Run, state: tuple[dict[str, Any], list[dict[str, Any]]] | None
) -> tuple[store.RunOutcome, dict[str, int]]:
    replies = {m.upstream_message_id: m for m in run.messages.filter(role="assistant")}
    if state is None:
        messages = {uid: (m.content, "incomplete", m.annotations) for uid, m in replies.items()}
        text = "".join(m.content for m in replies.values())
        usage = estimate_usage(prompt_text="", completion_text=text)
        return store.RunOutcome(
            status="failed",
            messages=messages,
            usage=usage,
            usage_estimated=True,
            last_error=INTERRUPTED,
        ), _pks(replies)
    upstream_run, upstream_messages = state
    for message in upstream_messages:
        if message["id"] not in replies:
            replies[message["id"]] = Message.objects.create(
                thread_id=run.thread_id,
                run=run,
                role="assistant",
                upstream_message_id=message["id"],
            )
    messages = {
        m["id"]: (
            message_text(m),
            "completed" if m.get("status") == "completed" else "incomplete",
            [],
        )
        for m in upstream_messages
    }
    reported = normalise_usage(upstream_run.get("usage"))
    return store.RunOutcome(
        status=upstream_run["status"],
        messages=messages,
        usage=reported or {},
        usage_estimated=reported is None,
        last_error=upstream_run.get("last_error"),
    ), _pks(replies)


def _pks(replies: dict[str, Message]) -> dict[str, int]:
    return {uid: m.pk for uid, m in replies.items()}
