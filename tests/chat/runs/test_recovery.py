"""Runs left active by a server process that died are settled at the next start-up."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import socket
import subprocess
import sys
from typing import Any

import httpx
import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.utils import timezone

from chat.models import Assistant, Message, Run
from chat.runs.recovery import recover_interrupted_runs
from chat.services import thread_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def simulator(transactional_db: None, settings: Any, simulator_url: str) -> Assistant:
    settings.SIMULATOR_URL = simulator_url
    assistant, _ = Assistant.objects.get_or_create(
        is_default=True, defaults={"name": "Simulator", "model": "gpt-4o"}
    )
    return assistant


async def test_a_run_the_upstream_finished_gets_its_authoritative_text(
    alice: Any, simulator_url: str
) -> None:
    # A process started the run upstream, saved a checkpoint, then died.
    thread, run = await database_sync_to_async(thread_create)(owner=alice, content="Hello")
    async with httpx.AsyncClient(base_url=simulator_url) as http:
        started = (
            await http.post(
                "/threads/runs",
                json={
                    "assistant_id": "asst_simulator000000000000000",
                    "thread": {"messages": [{"role": "user", "content": "Hello"}]},
                },
            )
        ).json()
    thread.upstream_thread_id = started["thread_id"]
    await thread.asave()
    await Run.objects.filter(pk=run.pk).aupdate(status="in_progress", upstream_run_id=started["id"])
    await asyncio.sleep(0.3)

    assert await recover_interrupted_runs(wait=5) == [run.pk]

    run = await Run.objects.aget(pk=run.pk)
    reply = await Message.objects.aget(run=run, role="assistant")
    assert (run.status, reply.status) == ("completed", "completed")
    assert reply.content == "Hello! How can I assist you today?"
    assert run.total_tokens > 0 and not run.usage_estimated


def test_a_run_the_upstream_never_knew_keeps_its_checkpoint(alice: Any) -> None:
    thread, run = thread_create(owner=alice, content="Hi there")
    Run.objects.filter(pk=run.pk).update(status="in_progress")
    Message.objects.create(
        thread=thread, run=run, role="assistant", content="Partial te", upstream_message_id="msg_x"
    )

    call_command("recover_runs", "--wait", "0")

    run = Run.objects.get(pk=run.pk)
    reply = Message.objects.get(run=run, role="assistant")
    assert (run.status, run.last_error["code"]) == ("failed", "interrupted")
    assert (reply.content, reply.status) == ("Partial te", "incomplete")
    assert run.usage_estimated


def test_a_run_whose_killed_process_held_a_live_lease_is_recovered_at_start(
    alice: Any,
) -> None:
    """`make run` after a crash: the dead server's lease has not run out yet, but its process
    is gone from this host, so the lease holds nothing."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _, run = thread_create(owner=alice, content="Hi there")
    Run.objects.filter(pk=run.pk).update(
        status="in_progress",
        lease_owner=f"{socket.gethostname()}:{dead.pid}:daphne",
        lease_expires_at=timezone.now() + dt.timedelta(minutes=5),
    )
    out = io.StringIO()
    call_command("recover_runs", "--wait", "0", stdout=out)
    assert "recovered 1 interrupted run(s)" in out.getvalue()
    run = Run.objects.get(pk=run.pk)
    assert (run.status, run.last_error["code"]) == ("failed", "interrupted")


def test_a_run_under_a_live_processs_lease_is_left_alone(alice: Any) -> None:
    _, run = thread_create(owner=alice, content="Hi there")
    Run.objects.filter(pk=run.pk).update(
        status="in_progress",
        lease_owner=f"{socket.gethostname()}:{os.getppid()}:daphne",  # alive: pytest's parent
        lease_expires_at=timezone.now() + dt.timedelta(minutes=5),
    )
    call_command("recover_runs", "--wait", "0", stdout=io.StringIO())
    assert Run.objects.get(pk=run.pk).status == "in_progress"
