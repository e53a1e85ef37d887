"""A thread's title from its first exchange: asked of the simulator (Chat Completions) after
the reply ended, told to every tab; kept as the first line when the user renamed the thread,
when the upstream fails, and for an Assistants upstream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User

from chat.models import Assistant, Thread
from chat.runs import get_engine
from chat.runs.store import run_context_load
from chat.runs.titles import title_after_first_reply
from chat.services import run_start, thread_create, thread_rename
from tests.chat.test_consumers import connect, frames_until_end

# The simulator over Chat Completions, for every test here.
from tests.chat.test_continue import simulator  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
FIRST = "Tell me about rivers"


async def first_exchange(alice: User) -> tuple[Thread, Any]:
    thread, run = await database_sync_to_async(thread_create)(owner=alice, content=FIRST)
    tab = await connect(alice, thread.pk)
    get_engine().launch(run.pk)
    await frames_until_end(tab)
    await get_engine().wait(run.pk)
    return thread, tab


async def next_frame(tab: Any, event: str) -> dict[str, Any]:
    while True:
        frame = json.loads(await tab.receive_from(timeout=10))
        if frame["event"] == event:
            return dict(frame)


async def test_the_first_reply_gives_the_thread_a_title(alice: User) -> None:
    thread, tab = await first_exchange(alice)
    frame = await next_frame(tab, "thread.title")
    title = frame["data"]["title"]
    assert title and title != FIRST and len(title) <= 60
    assert (await Thread.objects.aget(pk=thread.pk)).title == title
    # Only the first exchange: a follow-up asks nothing more.
    run = await database_sync_to_async(run_start)(thread=thread, content="And lakes?")
    get_engine().launch(run.pk)
    await frames_until_end(tab)
    await get_engine().wait(run.pk)
    await asyncio.sleep(0.5)
    assert (await Thread.objects.aget(pk=thread.pk)).title == title
    await tab.disconnect()


async def test_a_title_the_user_gave_is_kept(alice: User) -> None:
    thread, run = await database_sync_to_async(thread_create)(owner=alice, content=FIRST)
    await database_sync_to_async(thread_rename)(thread=thread, title="Mine")
    get_engine().launch(run.pk)
    await get_engine().wait(run.pk)
    context = await database_sync_to_async(run_context_load)(run.pk)
    await title_after_first_reply(context, get_engine().hub)  # as the engine does
    assert (await Thread.objects.aget(pk=thread.pk)).title == "Mine"


async def test_an_upstream_that_fails_leaves_the_first_line(alice: User) -> None:
    thread, run = await database_sync_to_async(thread_create)(owner=alice, content=FIRST)
    get_engine().launch(run.pk)
    await get_engine().wait(run.pk)
    for _ in range(100):  # the engine's own title request, which succeeds, ends first
        if (await Thread.objects.aget(pk=thread.pk)).title != FIRST:
            break
        await asyncio.sleep(0.1)
    # The title request reaches nothing: no server on port 9 of this machine.
    await Assistant.objects.filter(is_default=True).aupdate(base_url="http://127.0.0.1:9/v1")
    context = await database_sync_to_async(run_context_load)(run.pk)
    await Thread.objects.filter(pk=thread.pk).aupdate(title=FIRST)
    await title_after_first_reply(context, get_engine().hub)
    assert (await Thread.objects.aget(pk=thread.pk)).title == FIRST
