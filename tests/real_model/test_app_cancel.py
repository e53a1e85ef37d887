"""Stop through the app: the upstream request is closed, not just no longer read.

The model server generates one request at a time, so a reply the app stopped reading but did
not close would hold it for the rest of its `max_tokens`: every other user's reply would
wait behind it. After a cancel, a one-token request made directly must be answered at once.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.e2e.appserver import RunningApp
from tests.real_model.appclient import TERMINAL, ChatUser, delta_text, deltas, read_run
from tests.real_model.modelserver import RealModel, prompt_tokens
from tests.real_model.suite import STORY, STORYTELLER

pytestmark = pytest.mark.real_model

DELTAS_BEFORE_STOP = 5
# A one-token reply to a short prompt takes well under a second even on a busy machine; the
# rest of a reply left generating would take tens of seconds (printed by the test).
FREE_WITHIN_SECONDS = 3.0


async def test_stop_ends_the_run_keeps_the_partial_reply_and_frees_the_model(
    chat_app: RunningApp, real_model: RealModel
) -> None:
    async with (
        httpx.AsyncClient(timeout=120.0) as direct,
        ChatUser.logged_in(chat_app.url, "alice") as alice,
    ):
        thread_id, run_id = await alice.start_thread(STORY, STORYTELLER)
        async with alice.socket(thread_id, f"?run_id={run_id}&after_seq=0") as ws:
            head = await read_run(ws, run_id, until=DELTAS_BEFORE_STOP)
            assert head[-1].event not in TERMINAL, "the reply ended before it was stopped"
            await ws.send(json.dumps({"type": "cancel", "run_id": run_id}))
            tail = await read_run(ws, run_id)
        started = time.monotonic()
        await prompt_tokens(direct, real_model, [{"role": "user", "content": "Hi"}])
        waited = time.monotonic() - started
        run, stored = await alice.stored_run(thread_id, run_id)
        messages = (await alice.thread(thread_id))["messages"]

    frames = head + tail
    streamed = deltas(frames)
    pace = (len(streamed) - 1) / (streamed[-1].at - streamed[0].at)
    left = (STORYTELLER.max_tokens - len(streamed)) / pace
    print(
        f"\nstopped after {len(streamed)} deltas at {pace:.0f}/s; the rest of the reply would "
        f"have taken ~{left:.0f} s; a one-token request then took {waited:.2f} s"
    )
    assert frames[-1].event == "thread.run.cancelled"
    assert run["status"] == "cancelled"
    assert stored and stored == delta_text(frames)
    [reply] = [m for m in messages if m["role"] == "assistant"]
    assert reply["status"] == "incomplete"
    assert waited < FREE_WITHIN_SECONDS < left, "the model server was still generating"
