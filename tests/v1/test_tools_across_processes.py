"""Client function tools when the run executes in another process: on PostgreSQL and Redis,
a `manage.py run_worker` executes the runs that a daphne process (RUN_EXECUTION=worker)
queues, and the official SDK speaks to the daphne only, which never holds the run."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
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
from tests.v1.support import EventRecorder

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

WEATHER = {"role": "user", "content": "What is the weather in Paris?"}
OUTPUT = json.dumps({"location": "Paris", "temperature": 21, "unit": "c"})


@dataclass
class Topology:
    runs: openai.OpenAI  # where the runs are made
    submits: openai.OpenAI  # where the outputs go: a process that never executes the run
    submit_pid: int


def _env(simulator_url: str, execution: str) -> dict[str, str]:
    database = required_url("DATABASE_URL")
    assert connection.vendor == "postgresql"
    return app_env(
        DATABASE_URL=database.rsplit("/", 1)[0] + f"/{connection.settings_dict['NAME']}",
        REDIS_URL=required_url("REDIS_URL"),
        REDIS_KEY_PREFIX=f"test-tools-{time.monotonic_ns()}",
        RUN_EXECUTION=execution,
        SIMULATOR_URL=simulator_url,
        SECRET_KEY="test-only-secret-key",
        RUNS_PER_MINUTE="1000",
        CLIENT_TOOL_WAIT_SECONDS="20",
    )


def _sdk(port: int, key: str) -> openai.OpenAI:
    url = f"http://127.0.0.1:{port}/v1"
    return openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=30)


@pytest.fixture(params=["worker", "two_daphnes"])
def topology(
    request: pytest.FixtureRequest, tmp_path: Path, simulator_url: str
) -> Iterator[Topology]:
    """worker: a daphne queues its runs for a `run_worker`, and takes every request.
    two_daphnes: runs execute in the daphne that started them; outputs go to the other."""
    Assistant.objects.get_or_create(is_default=True, defaults={"name": "Simulator"})
    user = User.objects.create_user("carol", "carol@example.com", "unused-password-5")
    _, key = api_key_create(user=user)
    ports = [free_port(), free_port()]
    with ExitStack() as started:
        if request.param == "worker":
            env = _env(simulator_url, "worker")
            started.enter_context(worker_process(env, log_dir=tmp_path))
            web = started.enter_context(daphne_process(ports[1], env, log_dir=tmp_path))
            ports[0] = ports[1]
        else:
            env = _env(simulator_url, "inline")
            started.enter_context(daphne_process(ports[0], env, log_dir=tmp_path))
            web = started.enter_context(daphne_process(ports[1], env, log_dir=tmp_path))
        with _sdk(ports[0], key) as runs, _sdk(ports[1], key) as submits:
            yield Topology(runs=runs, submits=submits, submit_pid=web.pid)


def _paused_run(topology: Topology, *, streamed: bool = False) -> tuple[str, Any]:
    """A run paused for get_weather, started through `topology.runs` (streamed: its stream
    followed there until the pause, which leaves that process a log of the run)."""
    client = topology.runs
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[GET_WEATHER])
    thread = client.beta.threads.create(messages=[WEATHER])
    if streamed:
        with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as s:
            s.until_done()
            run = s.current_run
    else:
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=100
        )
    assert run is not None and run.status == "requires_action" and run.required_action
    _held_elsewhere(topology, run.id)
    return thread.id, run


def _held_elsewhere(topology: Topology, run_id: str) -> None:
    owner = Run.objects.get(pk=int(run_id.rsplit("_", 1)[1])).lease_owner
    # host:pid:random (`engine.process_name`): not the process that takes the outputs.
    assert owner and owner.split(":")[1] != str(topology.submit_pid)


def test_outputs_submitted_to_a_process_that_does_not_execute_the_run(
    topology: Topology,
) -> None:
    thread_id, run = _paused_run(topology)
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    assert call.function.name == "get_weather"
    done = topology.submits.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread_id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": OUTPUT}],
        poll_interval_ms=100,
    )
    assert done.status == "completed" and done.required_action is None
    messages = topology.runs.beta.threads.messages.list(thread_id=thread_id, order="desc")
    reply = messages.data[0]
    assert reply.role == "assistant" and "21" in reply.content[0].text.value  # type: ignore[union-attr]
    stored = Run.objects.get(pk=int(run.id.rsplit("_", 1)[1]))
    assert stored.submitted_tool_outputs is None  # cleared when the run resumed


def test_streamed_outputs_follow_the_run_from_a_process_that_does_not_execute_it(
    topology: Topology,
) -> None:
    thread_id, run = _paused_run(topology, streamed=True)
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    handler = EventRecorder()
    with topology.submits.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread_id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": OUTPUT}],
        event_handler=handler,
    ) as stream:
        stream.until_done()  # returns once the stream's `done` came
    assert handler.events[-1] == "thread.run.completed"
    # The pause it answered is not replayed.
    assert "thread.run.requires_action" not in handler.events
    assert "thread.message.delta" in handler.events and "21" in handler.text
    again = topology.runs.beta.threads.runs.retrieve(run.id, thread_id=thread_id)
    assert again.status == "completed"


def test_a_second_submission_from_another_process_is_a_conflict(topology: Topology) -> None:
    thread_id, run = _paused_run(topology)
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    outputs = [{"tool_call_id": call.id, "output": OUTPUT}]
    topology.submits.beta.threads.runs.submit_tool_outputs(
        thread_id=thread_id, run_id=run.id, tool_outputs=outputs
    )
    with pytest.raises(openai.ConflictError):
        topology.submits.beta.threads.runs.submit_tool_outputs(
            thread_id=thread_id, run_id=run.id, tool_outputs=outputs
        )
