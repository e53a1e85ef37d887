"""Continue a reply that stopped part-way: against the simulator over Chat Completions the
new run is sent the old text as the start of its answer, and its reply starts with it; an
upstream that cannot go on says so in a sentence, and nothing is created."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User

from chat.branch_services import CANNOT_CONTINUE
from chat.models import Assistant, Message, Run, Thread
from chat.runs import get_engine
from chat.runs.store import run_context_load
from chat.services import thread_create
from tests.chat.test_consumers import connect, frames_until_end

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def simulator(transactional_db: None, settings: Any, simulator_url: str) -> Assistant:
    settings.SIMULATOR_URL = simulator_url
    assistant, _ = Assistant.objects.update_or_create(
        is_default=True,
        defaults={"name": "Simulator", "model": "sim-chat", "protocol": "chat_completions"},
    )
    return assistant


async def stopped_reply(alice: User) -> tuple[Thread, Message]:
    """A reply stopped after a few tokens."""
    content = "/sim rate=40 tokens=200 Tell me about rivers"
    thread, run = await database_sync_to_async(thread_create)(owner=alice, content=content)
    tab = await connect(alice, thread.pk)
    get_engine().launch(run.pk)
    deltas = 0
    while deltas < 3:
        deltas += json.loads(await tab.receive_from(timeout=10))["event"] == "thread.message.delta"
    await get_engine().cancel(run.pk)
    await frames_until_end(tab)
    await get_engine().wait(run.pk)
    await tab.disconnect()
    return thread, await Message.objects.aget(run=run, role="assistant")


async def post(client: Any, url: str) -> Any:
    return await client.post(url, "{}", content_type="application/json")


async def test_continue_goes_on_from_the_partial_text(alice: User, async_client: Any) -> None:
    thread, partial = await stopped_reply(alice)
    assert partial.content and partial.status == "incomplete"
    await async_client.aforce_login(alice)
    url = f"/api/threads/{thread.pk}/messages/{partial.pk}/continue/"
    response = await post(async_client, url)
    assert response.status_code == 201, response.content
    run_id = json.loads(response.content)["run"]["id"]
    context = await database_sync_to_async(run_context_load)(run_id)
    # The upstream is sent the old text as the start of the assistant's answer.
    assert context.history[-1] == {"role": "assistant", "content": partial.content}
    assert context.history[-2]["role"] == "user"
    tab = await connect(alice, thread.pk, f"?run_id={run_id}&after_seq=0")
    frames = [f for f in await frames_until_end(tab) if f["run_id"] == run_id]
    await tab.disconnect()
    await get_engine().wait(run_id)
    deltas = [f for f in frames if f["event"] == "thread.message.delta"]
    assert deltas[0]["data"]["delta"]["content"][0]["text"]["value"] == partial.content
    reply = await Message.objects.aget(run_id=run_id, role="assistant")
    assert reply.content.startswith(partial.content) and len(reply.content) > len(partial.content)
    assert reply.parent_id == partial.parent_id  # another version of the stopped reply
    run = await Run.objects.aget(pk=run_id)
    assert (run.status, run.continues_id) == ("completed", partial.pk)
    # The stopped reply is kept as it was.
    assert await Message.objects.filter(pk=partial.pk, content=partial.content).aexists()


async def test_an_upstream_that_cannot_continue_says_so(
    alice: User, async_client: Any, simulator: Assistant
) -> None:
    thread, partial = await stopped_reply(alice)
    await Assistant.objects.filter(pk=simulator.pk).aupdate(protocol="assistants")
    await async_client.aforce_login(alice)
    response = await post(async_client, f"/api/threads/{thread.pk}/messages/{partial.pk}/continue/")
    body = json.loads(response.content)
    assert response.status_code == 400
    assert body["error"] == {"code": "continue_unsupported", "message": CANNOT_CONTINUE}
    assert await Run.objects.acount() == 1


async def test_only_an_unfinished_reply_of_ones_own_can_be_continued(
    alice: User, bob: User, async_client: Any
) -> None:
    thread, run = await database_sync_to_async(thread_create)(owner=alice, content="Hello")
    get_engine().launch(run.pk)
    await get_engine().wait(run.pk)
    done = await Message.objects.aget(run=run, role="assistant")
    hello = await Message.objects.aget(run=run, role="user")
    await async_client.aforce_login(alice)
    base = f"/api/threads/{thread.pk}/messages/"
    for message_id, status, code in [
        (done.pk, 400, "nothing_to_continue"),
        (hello.pk, 400, "nothing_to_continue"),
        (999999, 404, "not_found"),
    ]:
        response = await post(async_client, f"{base}{message_id}/continue/")
        assert (response.status_code, json.loads(response.content)["error"]["code"]) == (
            status,
            code,
        )
    await async_client.aforce_login(bob)
    assert (await post(async_client, f"{base}{done.pk}/continue/")).status_code == 404
    assert await Run.objects.acount() == 1
