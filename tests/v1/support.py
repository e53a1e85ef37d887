"""Keys, SDK clients and readings of an app served by `tests/e2e/appserver.py`."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import openai
from openai import AssistantEventHandler
from typing_extensions import override

from tests.e2e.appserver import REPO, RunningApp, server_env

# The model the operator offers per upstream protocol, in `conftest.SETUP`.
MODELS = {"assistants": "gpt-4o", "chat_completions": "sim-chat", "responses": "sim-responses"}
SEED = Path(__file__).resolve().parents[1] / "fixtures" / "seed-capture.txt"


def create_key(app: RunningApp, username: str) -> str:
    """A new key through `manage.py create_api_key`, which prints it as its last line."""
    env = server_env(app.sqlite_path, int(app.url.rsplit(":", 1)[1]), {})
    done = subprocess.run(
        [sys.executable, "manage.py", "create_api_key", username],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def sdk(app: RunningApp, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{app.url}/v1", api_key=key, max_retries=0, timeout=30)


def seed_event_names() -> list[str]:
    return re.findall(r"event: (\S+)", SEED.read_text())


def stored_reply(app: RunningApp, thread_pk: int) -> str:
    """What the web chat shows: the last assistant message's text, from the app's database."""
    with sqlite3.connect(app.sqlite_path) as db:
        row = db.execute(
            "SELECT content FROM chat_message WHERE thread_id = ? AND role = 'assistant'"
            " ORDER BY id DESC LIMIT 1",
            (thread_pk,),
        ).fetchone()
    return str(row[0]) if row else ""


def pk(api_id: str) -> int:
    return int(api_id.rsplit("_", 1)[1])


def delta_text(events: list[Any]) -> str:
    """The text of a streamed run's message deltas, as the SDK parsed them."""
    return "".join(
        part.text.value or ""
        for event in events
        if event.event == "thread.message.delta"
        for part in event.data.delta.content or []
        if part.type == "text" and part.text is not None
    )


class EventRecorder(AssistantEventHandler):
    """The event names of an SDK stream, in order, and the text of its deltas."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.text = ""

    @override
    def on_event(self, event) -> None:  # type: ignore[no-untyped-def]
        self.events.append(event.event)

    @override
    def on_text_delta(self, delta, snapshot) -> None:  # type: ignore[no-untyped-def]
        self.text += delta.value or ""
