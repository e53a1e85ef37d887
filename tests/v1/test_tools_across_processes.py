"""Client function tools when the run executes in another process: on PostgreSQL and Redis,
a `manage.py run_worker` executes the runs that a daphne process (RUN_EXECUTION=worker)
queues, and the official SDK speaks to the daphne only, which never holds the run."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from django.contrib.auth.models import User
from django.db import connection

from assistants_proxy.seed_tools import GET_WEATHER
from chat.api_keys import api_key_create
from chat.models import Assistant, Run
from tests.chat.test_health import required_url
from tests.deploy.topology import app_env, daphne_process, free_port, worker_process

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

WEATHER = {"role": "user", "content": "What is the weather in Paris?"}
OUTPUT = json.dumps({"location": "Paris", "temperature": 21, "unit": "c"})


@pytest.fixture
def web_and_worker(tmp_path: Path, simulator_url: str) -> Iterator[str]:
    """A daphne that queues its runs and a worker that executes them; the daphne's URL."""
    database = required_url("DATABASE_URL")
    assert connection.vendor == "postgresql"
    Assistant.objects.get_or_create(is_default=True, defaults={"name": "Simulator"})
    env = app_env(
        DATABASE_URL=database.rsplit("/", 1)[0] + f"/{connection.settings_dict['NAME']}",
        REDIS_URL=required_url("REDIS_URL"),
        REDIS_KEY_PREFIX=f"test-tools-{time.monotonic_ns()}",
        RUN_EXECUTION="worker",
        SIMULATOR_URL=simulator_url,
        SECRET_KEY="test-only-secret-key",
        RUNS_PER_MINUTE="1000",
        CLIENT_TOOL_WAIT_SECONDS="20",
    )
    port = free_port()
    with worker_process(env, log_dir=tmp_path), daphne_process(port, env, log_dir=tmp_path):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def client(web_and_worker: str) -> Iterator[openai.OpenAI]:
    user = User.objects.create_user("carol", "carol@example.com", "unused-password-5")
    _, key = api_key_create(user=user)
    with openai.OpenAI(
        base_url=f"{web_and_worker}/v1", api_key=key, max_retries=0, timeout=30
    ) as sdk:
        yield sdk


def _paused_run(client: openai.OpenAI) -> tuple[str, Any]:
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[GET_WEATHER])
    thread = client.beta.threads.create(messages=[WEATHER])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=100
    )
    assert run.status == "requires_action" and run.required_action is not None
    return thread.id, run


def _worker_holds(run_id: str) -> str:
    held = Run.objects.get(pk=int(run_id.rsplit("_", 1)[1])).lease_owner
    assert held  # the worker's name: the daphne that answers the client never executed it
    return held


def test_outputs_submitted_to_a_process_that_does_not_execute_the_run(
    client: openai.OpenAI,
) -> None:
    thread_id, run = _paused_run(client)
    _worker_holds(run.id)
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    assert call.function.name == "get_weather"
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread_id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": OUTPUT}],
        poll_interval_ms=100,
    )
    assert done.status == "completed" and done.required_action is None
    reply = client.beta.threads.messages.list(thread_id=thread_id, order="desc", limit=1).data[0]
    text = reply.content[0].text.value  # type: ignore[union-attr]
    assert reply.role == "assistant" and "21" in text
    stored = Run.objects.get(pk=int(run.id.rsplit("_", 1)[1]))
    assert stored.submitted_tool_outputs is None  # cleared when the run resumed


def test_streamed_outputs_follow_the_run_from_a_process_that_does_not_execute_it(
    client: openai.OpenAI,
) -> None:
    thread_id, run = _paused_run(client)
    _worker_holds(run.id)
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    events = list(
        client.beta.threads.runs.submit_tool_outputs(
            thread_id=thread_id,
            run_id=run.id,
            tool_outputs=[{"tool_call_id": call.id, "output": OUTPUT}],
            stream=True,
        )
    )
    names = [event.event for event in events]
    assert names[-1] == "thread.run.completed"
    assert "thread.run.requires_action" not in names  # the answered pause is not replayed
    deltas = "".join(
        part.text.value or ""
        for event in events
        if event.event == "thread.message.delta"
        for part in event.data.delta.content or []  # type: ignore[union-attr]
        if part.type == "text" and part.text is not None
    )
    assert "21" in deltas
    again = client.beta.threads.runs.retrieve(run.id, thread_id=thread_id)
    assert again.status == "completed"


def test_a_second_submission_from_another_process_is_a_conflict(client: openai.OpenAI) -> None:
    thread_id, run = _paused_run(client)
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    outputs = [{"tool_call_id": call.id, "output": OUTPUT}]
    client.beta.threads.runs.submit_tool_outputs(
        thread_id=thread_id, run_id=run.id, tool_outputs=outputs
    )
    with pytest.raises(openai.ConflictError):
        client.beta.threads.runs.submit_tool_outputs(
            thread_id=thread_id, run_id=run.id, tool_outputs=outputs
        )
