"""One world: a thread started in the web chat is read and continued over the API, and the
web chat then shows what the API added."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.e2e.appserver import RunningApp
from tests.v1.conftest import PASSWORD


@pytest.fixture
def alice_web(v1_app: RunningApp) -> Iterator[httpx.Client]:
    """alice logged in to the web chat, as her browser is."""
    with httpx.Client(base_url=v1_app.url, timeout=30) as web:
        page = web.get("/accounts/login/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        form = {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token[1]}
        assert web.post("/accounts/login/", data=form).status_code == 302
        web.headers["X-CSRFToken"] = web.cookies["csrftoken"]
        yield web


def test_a_web_thread_is_read_and_continued_over_the_api(
    alice_web: httpx.Client, alice_sdk: openai.OpenAI
) -> None:
    started = alice_web.post("/api/threads/", json={"content": "Hello"}).json()
    thread_id = f"thread_{started['thread']['id']}"
    first_run = f"run_{started['run']['id']}"
    deadline = time.monotonic() + 20
    while alice_sdk.beta.threads.runs.retrieve(first_run, thread_id=thread_id).status != (
        "completed"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    history = alice_sdk.beta.threads.messages.list(thread_id=thread_id, order="asc").data
    assert [(m.role, m.content[0].text.value) for m in history] == [  # type: ignore[union-attr]
        ("user", "Hello"),
        ("assistant", "Hello! How can I assist you today?"),
    ]
    assistant = alice_sdk.beta.assistants.create(model="gpt-4o")
    run = alice_sdk.beta.threads.runs.create_and_poll(
        thread_id=thread_id,
        assistant_id=assistant.id,
        additional_messages=[{"role": "user", "content": "Hi"}],
        poll_interval_ms=100,
    )
    assert run.status == "completed"
    detail = alice_web.get(f"/api/threads/{started['thread']['id']}/").json()
    assert [m["content"] for m in detail["messages"]][2:] == [
        "Hi",
        "Hello! How can I assist you today?",
    ]
    assert [r["status"] for r in detail["runs"]] == ["completed", "completed"]
