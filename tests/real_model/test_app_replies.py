"""Replies through the app, over real HTTP and WebSockets, against the real model.

The reference is the server itself: the same request the app's adapter makes (system message
= the assistant's instructions, then the history), made by hand at temperature 0 after
`clear_prompt_cache`, generates a text; the app's run, started after another
`clear_prompt_cache`, must stream exactly that text to the browser and store it.
"""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.appserver import RunningApp
from tests.real_model.appclient import TERMINAL, ChatUser, delta_text, deltas, read_run, seqs
from tests.real_model.modelserver import Message, RealModel, prompt_tokens, stream_chat
from tests.real_model.suite import (
    ABOUT_THE_FIRST,
    INSTRUCTIONS,
    PLAIN,
    QUESTION,
    SHORT_STORY,
    STORY,
)

pytestmark = pytest.mark.real_model


def system(text: str = INSTRUCTIONS) -> Message:
    return {"role": "system", "content": text}


def user(text: str) -> Message:
    return {"role": "user", "content": text}


async def test_a_reply_streams_and_stores_exactly_what_the_model_generates(
    chat_app: RunningApp, real_model: RealModel
) -> None:
    messages = [system(), user(QUESTION)]
    async with (
        httpx.AsyncClient(timeout=60.0) as direct,
        ChatUser.logged_in(chat_app.url, "alice") as alice,
    ):
        counted = await prompt_tokens(direct, real_model, messages)
        await real_model.clear_prompt_cache(direct)
        expected = await stream_chat(direct, real_model, messages, max_tokens=PLAIN.max_tokens)
        await real_model.clear_prompt_cache(direct)
        thread_id, run_id = await alice.start_thread(QUESTION, PLAIN)
        frames = await alice.follow(thread_id, run_id)
        run, stored = await alice.stored_run(thread_id, run_id)

    # The model ends this answer on its own, so the run is `completed`, not `incomplete`.
    assert expected.text.strip() and expected.finish_reason == "stop"
    assert delta_text(frames) == expected.text
    assert stored == expected.text
    assert seqs(frames) == list(range(1, len(frames) + 1))
    assert frames[-1].event == "thread.run.completed"
    assert run["status"] == "completed" and run["last_error"] is None
    # The server sends no usage in a stream: the app counted, and says so.
    usage = run["usage"]
    assert usage["estimated"] is True and usage["completion_tokens"] > 0
    assert abs(usage["prompt_tokens"] - counted) <= 0.2 * counted, (usage, counted)


async def test_the_history_is_sent_with_the_next_message(
    chat_app: RunningApp, real_model: RealModel
) -> None:
    async with (
        httpx.AsyncClient(timeout=60.0) as direct,
        ChatUser.logged_in(chat_app.url, "alice") as alice,
    ):
        thread_id, first_run = await alice.start_thread(QUESTION, PLAIN)
        await alice.follow(thread_id, first_run)
        _, first_reply = await alice.stored_run(thread_id, first_run)
        history = [
            system(),
            user(QUESTION),
            {"role": "assistant", "content": first_reply},
            user(ABOUT_THE_FIRST),
        ]
        await real_model.clear_prompt_cache(direct)
        expected = await stream_chat(direct, real_model, history, max_tokens=PLAIN.max_tokens)
        await real_model.clear_prompt_cache(direct)
        run_id = await alice.send(thread_id, ABOUT_THE_FIRST)
        frames = await alice.follow(thread_id, run_id)
        run, stored = await alice.stored_run(thread_id, run_id)

    assert first_reply.strip() and expected.text.strip()
    assert delta_text(frames) == expected.text == stored
    assert run["status"] == ("completed" if expected.finish_reason == "stop" else "incomplete")


async def test_a_reload_mid_reply_resumes_with_no_gap_and_no_duplicate(
    chat_app: RunningApp,
) -> None:
    async with ChatUser.logged_in(chat_app.url, "alice") as alice:
        thread_id, run_id = await alice.start_thread(STORY, SHORT_STORY)
        async with alice.socket(thread_id, f"?run_id={run_id}&after_seq=0") as ws:
            before = await read_run(ws, run_id, until=3)
        assert before[-1].event not in TERMINAL, "the reply ended before the reload"
        # The page is gone mid-reply; the new one names the last frame it has.
        last_seen = seqs(before)[-1]
        after = await alice.follow(thread_id, run_id, after_seq=last_seen)
        run, stored = await alice.stored_run(thread_id, run_id)

    assert seqs(before) == list(range(1, last_seen + 1))
    assert seqs(after) == list(range(last_seen + 1, last_seen + 1 + len(after)))
    assert deltas(after), "nothing of the reply was left to resume"
    assert after[-1].event in TERMINAL
    assert delta_text(before + after) == stored
    assert len(stored) > len(delta_text(before)) > 0
    assert run["status"] in ("completed", "incomplete")
