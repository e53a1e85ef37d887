"""Deleting a thread stops its reply and deletes the upstream's copy of the conversation.

Through the real API view (Django's async test client, in the test's event loop, so the run
engine's tasks are the test's) against the simulator over real HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import pytest
from django.test import AsyncClient

from chat.models import Assistant, Message, Run, Thread
from chat.runs import get_engine

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def simulator(transactional_db: None, settings: Any, simulator_url: str) -> None:
    settings.SIMULATOR_URL = simulator_url
    Assistant.objects.update_or_create(
        is_default=True, defaults={"name": "Simulator", "model": "gpt-4o", "protocol": "assistants"}
    )


async def _until(check: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_deleting_a_thread_mid_reply_cancels_the_run_and_the_upstream_thread(
    alice: Any, simulator_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = AsyncClient()
    await client.aforce_login(alice)
    created = await client.post(
        "/api/threads/",
        {"content": "/sim tokens=400 rate=20 A long story"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    thread_id, run_id = created.json()["thread"]["id"], created.json()["run"]["id"]

    async def streaming() -> bool:
        run = await Run.objects.aget(pk=run_id)
        return (
            bool(run.upstream_run_id)
            and await Message.objects.filter(run_id=run_id, role="assistant").aexists()
        )

    await _until(streaming)
    run = await Run.objects.select_related("thread").aget(pk=run_id)
    upstream_thread, upstream_run = run.thread.upstream_thread_id, run.upstream_run_id
    assert upstream_thread

    started = time.monotonic()
    deleted = await client.delete(f"/api/threads/{thread_id}/")
    assert deleted.status_code == 204
    await asyncio.wait_for(get_engine().wait(run_id), timeout=2)
    assert time.monotonic() - started < 1.5
    assert not await Thread.objects.filter(pk=thread_id).aexists()
    assert not await Run.objects.filter(pk=run_id).aexists()
    # An expected end: the run's final save finds nothing to save, and says nothing of it.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    async with httpx.AsyncClient(base_url=simulator_url) as upstream:

        async def upstream_thread_gone() -> bool:
            response = await upstream.get(f"/threads/{upstream_thread}")
            return response.status_code == 404

        await _until(upstream_thread_gone)
    assert upstream_run  # the run was live upstream when the thread went


async def test_deleting_another_users_thread_is_not_found_and_changes_nothing(
    alice: Any, bob: Any
) -> None:
    assistant = await Assistant.objects.aget(is_default=True)
    thread = await Thread.objects.acreate(owner=alice, title="Mine", assistant=assistant)
    client = AsyncClient()
    await client.aforce_login(bob)
    response = await client.delete(f"/api/threads/{thread.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert await Thread.objects.filter(pk=thread.pk).aexists()
