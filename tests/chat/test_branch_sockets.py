"""Branches live: a regenerated reply streams to every socket of the thread like any other,
can be stopped, and a switch in one tab reaches the others."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User

from chat import selectors
from chat.models import Assistant, Message, Run, Thread
from chat.runs import get_engine
from chat.runs.branch_history import BRANCH_NOTE
from chat.services import thread_create
from tests.chat.test_consumers import connect, frames_until_end

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True, params=["assistants", "chat_completions"])
def simulator(
    request: pytest.FixtureRequest, transactional_db: None, settings: Any, simulator_url: str
) -> Assistant:
    settings.SIMULATOR_URL = simulator_url
    assistant, _ = Assistant.objects.update_or_create(
        is_default=True,
        defaults={"name": "Simulator", "model": "gpt-4o", "protocol": request.param},
    )
    return assistant


async def first_exchange(alice: User, content: str) -> tuple[Thread, Message, Message]:
    thread, run = await database_sync_to_async(thread_create)(owner=alice, content=content)
    get_engine().launch(run.pk)
    await get_engine().wait(run.pk)
    thread = await Thread.objects.aget(pk=thread.pk)
    user = await Message.objects.aget(run=run, role="user")
    return thread, user, await Message.objects.aget(run=run, role="assistant")


async def logged_in(async_client: Any, alice: User) -> Any:
    await async_client.aforce_login(alice)
    return async_client


async def post(client: Any, url: str, body: dict[str, Any] | None = None) -> Any:
    return await client.post(url, json.dumps(body or {}), content_type="application/json")


async def test_a_regenerated_reply_streams_to_every_tab_and_becomes_the_branch(
    alice: User, async_client: Any, simulator: Assistant
) -> None:
    thread, hello, first = await first_exchange(alice, "Hello")
    upstream_before = thread.upstream_thread_id
    tabs = [await connect(alice, thread.pk), await connect(alice, thread.pk)]
    client = await logged_in(async_client, alice)
    response = await post(client, f"/api/threads/{thread.pk}/messages/{hello.pk}/regenerate/")
    assert response.status_code == 201
    run_id = json.loads(response.content)["run"]["id"]
    for tab in tabs:
        frames = await frames_until_end(tab)
        runs = [f for f in frames if f["run_id"] == run_id]
        # Seq 1 is the message answered again: the same message, so no tab shows it twice.
        assert runs[0]["data"]["metadata"]["message_id"] == hello.pk
        assert [f["seq"] for f in runs] == list(range(1, len(runs) + 1))
        assert runs[-1]["event"] == "thread.run.completed"
        assert any(f["event"] == "thread.branch" for f in frames)
        await tab.disconnect()
    await get_engine().wait(run_id)
    second = await Message.objects.aget(run_id=run_id, role="assistant")
    thread = await Thread.objects.aget(pk=thread.pk)
    shown = await database_sync_to_async(selectors.thread_detail)(user=alice, thread_id=thread.pk)
    assert (second.parent_id, shown.branch.message_ids) == (hello.pk, [hello.pk, second.pk])
    assert await Message.objects.filter(pk=first.pk, content=first.content).aexists()
    run = await Run.objects.aget(pk=run_id)
    if simulator.protocol == "assistants":
        # The upstream's thread held the old reply: this branch got a new one.
        assert thread.upstream_thread_id not in ("", upstream_before)
        assert BRANCH_NOTE in run.notes
    assert run.status == "completed" and run.total_tokens > 0


async def test_a_regenerated_reply_can_be_stopped_and_resumed_by_seq(
    alice: User, async_client: Any
) -> None:
    thread, hello, _ = await first_exchange(alice, "/sim rate=40 tokens=400 Tell me about rivers")
    client = await logged_in(async_client, alice)
    response = await post(client, f"/api/threads/{thread.pk}/messages/{hello.pk}/regenerate/")
    run_id = json.loads(response.content)["run"]["id"]
    tab = await connect(alice, thread.pk)
    seen = []
    while len([f for f in seen if f["event"] == "thread.message.delta"]) < 3:
        seen.append(json.loads(await tab.receive_from(timeout=10)))
    await tab.disconnect()
    last = max(f["seq"] for f in seen if f["run_id"] == run_id)
    resumed = await connect(alice, thread.pk, f"?run_id={run_id}&after_seq={last}")
    cancel = await post(client, f"/api/threads/{thread.pk}/runs/{run_id}/cancel/")
    assert cancel.status_code == 202
    frames = await frames_until_end(resumed)
    assert frames[0]["seq"] == last + 1
    assert frames[-1]["event"] == "thread.run.cancelled"
    await get_engine().wait(run_id)
    assert (await Run.objects.aget(pk=run_id)).status == "cancelled"
    await resumed.disconnect()


async def test_a_switch_in_one_tab_reaches_the_others(alice: User, async_client: Any) -> None:
    thread, hello, first = await first_exchange(alice, "Hello")
    other_tab = await connect(alice, thread.pk)
    client = await logged_in(async_client, alice)
    url = f"/api/threads/{thread.pk}/branch/"
    response = await post(client, url, {"message_id": hello.pk})
    assert response.status_code == 200
    frame = json.loads(await other_tab.receive_from(timeout=5))
    if frame["event"] == "thread.title":  # the first exchange's title may come first
        frame = json.loads(await other_tab.receive_from(timeout=5))
    assert frame == {"event": "thread.branch", "run_id": None, "seq": None,
                     "data": {"leaf_id": first.pk}}  # fmt: skip
    await other_tab.disconnect()
