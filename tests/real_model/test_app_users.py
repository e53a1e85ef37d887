"""Two users chatting at once through the app, against the one real model server (which
generates one reply at a time: the second run waits upstream while both sockets are open)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.e2e.appserver import RunningApp
from tests.real_model.appclient import ChatUser, Received, delta_text
from tests.real_model.suite import PLAIN

pytestmark = pytest.mark.real_model

CLOSE_NOT_FOUND = 4404


@dataclass
class Chat:
    content: str
    thread_id: int
    run_id: int
    frames: list[Received]
    run: dict[str, Any]
    stored: str


async def chat(user: ChatUser, content: str) -> Chat:
    thread_id, run_id = await user.start_thread(content, PLAIN)
    frames = await user.follow(thread_id, run_id)  # fails on a frame of another run
    run, stored = await user.stored_run(thread_id, run_id)
    return Chat(content, thread_id, run_id, frames, run, stored)


async def test_two_users_at_once_each_get_their_own_reply_and_only_their_frames(
    chat_app: RunningApp,
) -> None:
    async with (
        ChatUser.logged_in(chat_app.url, "alice") as alice,
        ChatUser.logged_in(chat_app.url, "bob") as bob,
    ):
        alices, bobs = await asyncio.gather(
            chat(alice, "What is the capital of France?"),
            chat(bob, "What is the capital of Spain?"),
        )
        bob_reads_alices = await bob.http.get(f"/api/threads/{alices.thread_id}/")
        async with bob.socket(alices.thread_id) as ws:
            with pytest.raises(ConnectionClosed) as refused:
                await ws.recv()

    for mine in (alices, bobs):
        first = mine.frames[0].frame
        assert first["event"] == "thread.message.created"
        assert first["data"]["content"][0]["text"]["value"] == mine.content
        assert mine.frames[-1].event == "thread.run.completed"
        assert mine.run["status"] == "completed"
        assert mine.stored.strip() and delta_text(mine.frames) == mine.stored
    # The two runs really were active at the same time.
    assert alices.run["created_at"] < bobs.run["completed_at"]
    assert bobs.run["created_at"] < alices.run["completed_at"]
    assert alices.run_id != bobs.run_id
    assert bob_reads_alices.status_code == 404
    assert refused.value.rcvd is not None and refused.value.rcvd.code == CLOSE_NOT_FOUND
