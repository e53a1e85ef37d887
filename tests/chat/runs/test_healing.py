"""A run's second chance (`chat.runs.healing`), against simulators over real HTTP: objects an
upstream forgot when it restarted are made again, and a history over the model's context
window is trimmed; each said in the run's notes, and the thread is never left broken."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async

from assistants_proxy.simulator import create_app
from chat.models import Assistant, Message, Run, Thread
from chat.runs import get_engine
from chat.services import run_start, thread_create
from tests.chat.test_consumers import connect, frames_until_end
from tests.servers import free_port, serve_asgi

pytestmark = pytest.mark.django_db(transaction=True)


class RestartableSimulator:
    """A simulator on a fixed port that can be stopped and started again, forgetting every
    thread and assistant it held, as `make run`'s mounted one does at each restart."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._serving: Any = None

    def start(self) -> None:
        self._serving = serve_asgi(create_app(rate=1000.0), port=self.port)
        self._serving.__enter__()

    def stop(self) -> None:
        self._serving.__exit__(None, None, None)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def simulator(settings: Any) -> Iterator[RestartableSimulator]:
    server = RestartableSimulator()
    server.start()
    settings.SIMULATOR_URL = server.url
    yield server
    server.stop()


def use(protocol: str, **fields: Any) -> Assistant:
    assistant, _ = Assistant.objects.update_or_create(
        is_default=True,
        defaults={"name": "Simulator", "model": "gpt-4o", "protocol": protocol, **fields},
    )
    return assistant


async def run_to_end(user: Any, content: str, thread: Thread | None = None) -> Run:
    if thread is None:
        thread, run = await database_sync_to_async(thread_create)(owner=user, content=content)
    else:
        run = await database_sync_to_async(run_start)(thread=thread, content=content)
    socket = await connect(user, thread.pk)
    get_engine().launch(run.pk)
    frames = await frames_until_end(socket)
    await get_engine().wait(run.pk)
    await socket.disconnect()
    assert frames[-1]["run_id"] == run.pk
    return await Run.objects.select_related("thread").aget(pk=run.pk)


async def reply_of(run: Run) -> str:
    return (await Message.objects.aget(run=run, role="assistant")).content


@pytest.mark.parametrize("protocol", ["assistants", "chat_completions", "responses"])
async def test_a_thread_goes_on_after_the_upstream_restarted(
    alice: Any, simulator: RestartableSimulator, protocol: str
) -> None:
    await database_sync_to_async(use)(protocol)
    first = await run_to_end(alice, "Hello")
    simulator.restart()

    follow_up = await run_to_end(alice, "/sim tokens=12 And then?", first.thread)
    new_chat = await run_to_end(alice, "Hello again")

    assert (follow_up.status, new_chat.status) == ("completed", "completed")
    assert len((await reply_of(follow_up)).split()) >= 5


async def test_a_forgotten_assistant_and_thread_are_made_again_and_said(
    alice: Any, simulator: RestartableSimulator
) -> None:
    assistant = await database_sync_to_async(use)("assistants")
    first = await run_to_end(alice, "Hello")
    old_thread = (await Thread.objects.aget(pk=first.thread_id)).upstream_thread_id
    old_assistant = (await Assistant.objects.aget(pk=assistant.pk)).upstream_assistant_id
    simulator.restart()

    run = await run_to_end(alice, "Hello", first.thread)

    assert run.status == "completed"
    assert len(run.notes) == 2 and old_assistant in run.notes[0] and old_thread in run.notes[1]
    healed = await Assistant.objects.aget(pk=assistant.pk)
    assert healed.upstream_assistant_id not in ("", old_assistant)
    thread = await Thread.objects.aget(pk=first.thread_id)
    assert thread.upstream_thread_id not in ("", old_thread)


async def test_a_chained_responses_thread_sends_its_history_when_the_chain_is_gone(
    alice: Any, simulator: RestartableSimulator
) -> None:
    await database_sync_to_async(use)("responses", responses_history="previous_response_id")
    first = await run_to_end(alice, "Hello")
    assert (await Thread.objects.aget(pk=first.thread_id)).upstream_thread_id.startswith("resp_")
    simulator.restart()

    run = await run_to_end(alice, "Hello", first.thread)

    assert run.status == "completed"
    assert run.notes == [
        "The upstream no longer had the previous response: the whole history was sent."
    ]


async def test_a_history_over_the_context_window_is_trimmed_and_the_run_completes(
    alice: Any, simulator: RestartableSimulator
) -> None:
    await database_sync_to_async(use)("chat_completions")
    first = await run_to_end(alice, "/sim tokens=300 Tell me about rivers")

    # The model's window (120 tokens) takes the new message, not the 300-token reply before it.
    run = await run_to_end(alice, "/sim context=120 tokens=10 Shorter now", first.thread)

    assert run.status == "completed", run.last_error
    assert len(run.notes) == 1 and "oldest messages were left out" in run.notes[0]
    assert "120 tokens" in run.notes[0]


async def test_a_message_alone_over_the_window_fails_with_what_to_do(
    alice: Any, simulator: RestartableSimulator
) -> None:
    await database_sync_to_async(use)("chat_completions")
    long = "/sim context=50 " + "word " * 200

    run = await run_to_end(alice, long)

    assert (run.status, run.last_error["code"]) == ("failed", "context_length_exceeded")
    assert "Shorten your message" in run.last_error["message"]
    # The thread is not broken: the next, shorter message is answered.
    after = await run_to_end(alice, "Hello", run.thread)
    assert after.status == "completed"
