"""The model's context window through the app (2,048 tokens on the test server).

The server takes a prompt over its window as a 200 with an empty stream, not as an error: the
app must recognise that (`chat/runs/execution.py`, `_ended_without_reply`), trim the history
and retry once, and otherwise fail the run with a sentence the user can act on, never leaving
the thread unable to go on. The notes a run keeps are not in the API: they are read from the
app's database file.
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing

import httpx
import pytest

from tests.e2e.appserver import RunningApp
from tests.real_model.appclient import ChatUser, deltas
from tests.real_model.modelserver import Message, RealModel, exact_prompt_tokens
from tests.real_model.suite import (
    INSTRUCTIONS,
    LONG_HISTORY,
    NO_WINDOW_THREAD,
    OVERFLOW,
    SHORT_QUESTION,
    WINDOW,
    WINDOW_SET_THREAD,
)

pytestmark = pytest.mark.real_model

SERVER_WINDOW = 2048  # scripts/local-model.sh, N_CTX


def user(text: str) -> Message:
    return {"role": "user", "content": text}


def run_notes(app: RunningApp, run_id: int) -> list[str]:
    with closing(sqlite3.connect(app.sqlite_path)) as db:
        [(notes,)] = db.execute("SELECT notes FROM chat_run WHERE id = ?", (run_id,)).fetchall()
    return list(json.loads(notes))


async def test_a_message_over_the_window_fails_with_what_to_do_and_the_thread_goes_on(
    chat_app: RunningApp, real_model: RealModel
) -> None:
    async with (
        httpx.AsyncClient(timeout=60.0) as direct,
        ChatUser.logged_in(chat_app.url, "alice") as alice,
    ):
        too_long = await exact_prompt_tokens(
            direct, real_model, [{"role": "system", "content": INSTRUCTIONS}, user(OVERFLOW)]
        )
        thread_id, first = await alice.start_thread("Hello!", WINDOW)
        await alice.follow(thread_id, first)
        normal, _ = await alice.stored_run(thread_id, first)
        overflowing = await alice.send(thread_id, OVERFLOW)
        overflow_frames = await alice.follow(thread_id, overflowing)
        failed, _ = await alice.stored_run(thread_id, overflowing)
        after = await alice.send(thread_id, SHORT_QUESTION)
        await alice.follow(thread_id, after)
        went_on, reply = await alice.stored_run(thread_id, after)

    assert too_long > SERVER_WINDOW + 500  # the message alone, with no history
    assert normal["status"] == "completed"
    assert overflow_frames[-1].event == "thread.run.failed" and not deltas(overflow_frames)
    assert failed["status"] == "failed"
    assert failed["last_error"]["code"] == "context_length_exceeded"
    message = failed["last_error"]["message"]
    # A sentence for people: what happened and what to do, no code or internal name.
    assert "Shorten your message" in message and message.endswith(".")
    assert not re.search(r"[_{}<>]|HTTP|\d{3}|context_length", message), message
    assert went_on["status"] == "completed" and reply.strip()


@pytest.mark.parametrize("title", [WINDOW_SET_THREAD, NO_WINDOW_THREAD])
async def test_a_history_over_the_window_completes_and_says_older_messages_were_left_out(
    chat_app: RunningApp, real_model: RealModel, title: str
) -> None:
    async with (
        httpx.AsyncClient(timeout=60.0) as direct,
        ChatUser.logged_in(chat_app.url, "alice") as alice,
    ):
        history = [{"role": role, "content": text} for role, text in LONG_HISTORY]
        whole = [{"role": "system", "content": INSTRUCTIONS}, *history, user(SHORT_QUESTION)]
        whole_tokens = await exact_prompt_tokens(direct, real_model, whole)
        thread_id = await alice.thread_titled(title)
        run_id = await alice.send(thread_id, SHORT_QUESTION)
        frames = await alice.follow(thread_id, run_id)
        run, reply = await alice.stored_run(thread_id, run_id)

    assert whole_tokens > SERVER_WINDOW  # the whole history cannot be sent
    assert frames[-1].event == "thread.run.completed", frames[-1].frame
    assert run["status"] == "completed" and reply.strip()
    notes = run_notes(chat_app, run_id)
    print(f"\n{title}: notes {notes}")
    assert any("left out" in note for note in notes), notes
