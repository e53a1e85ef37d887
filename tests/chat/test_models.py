from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from pytest_django import Settings

from chat.models import Assistant, Run, Thread

pytestmark = pytest.mark.django_db

MakeThread = Callable[..., tuple[Thread, Run]]


def test_the_migration_creates_the_default_simulator_assistant() -> None:
    assistant = Assistant.objects.get(is_default=True)
    assert assistant.name == "Simulator"
    assert assistant.base_url == ""
    assert assistant.model == "gpt-4o"
    assert assistant.instructions == "You are a very useful assistant."
    assert (assistant.temperature, assistant.top_p) == (0.7, 1.0)
    assert [tool["type"] for tool in assistant.tools] == [
        "code_interpreter",
        "file_search",
        "function",
    ]
    assert assistant.tools[1]["file_search"] == {"max_num_results": 50}
    weather = assistant.tools[2]["function"]
    assert weather["name"] == "get_weather"
    assert weather["parameters"]["required"] == ["location"]
    assert weather["parameters"]["properties"]["unit"]["enum"] == ["c", "f"]


def test_a_new_assistant_has_the_assistants_defaults() -> None:
    assistant = Assistant.objects.create(name="Plain")
    assert assistant.protocol == "assistants"
    assert assistant.response_format == "auto"
    assert assistant.truncation_strategy == {"type": "auto", "last_messages": None}
    assert assistant.tools == []


def test_a_blank_base_url_resolves_to_the_simulator(settings: Settings) -> None:
    settings.SIMULATOR_URL = "http://sim.test/v1/"
    assert Assistant(base_url="").resolved_base_url() == "http://sim.test/v1"
    assert Assistant(base_url="http://llm:8080/v1").resolved_base_url() == "http://llm:8080/v1"


def test_the_api_key_is_read_from_the_named_variable(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    settings.UPSTREAM_KEY_VARIABLES = ["CHAT_TEST_KEY"]
    monkeypatch.setenv("CHAT_TEST_KEY", "sk-secret")
    assert Assistant(api_key_env="CHAT_TEST_KEY").api_key() == "sk-secret"
    assert Assistant(api_key_env="", base_url="http://llm:8080/v1").api_key() is None
    monkeypatch.delenv("CHAT_TEST_KEY")
    assert Assistant(api_key_env="CHAT_TEST_KEY").api_key() is None


def test_there_is_at_most_one_default_assistant() -> None:
    Assistant.objects.create(name="Second", is_default=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assistant.objects.create(name="Third", is_default=True)


def test_tools_must_be_a_list_of_typed_objects() -> None:
    with pytest.raises(ValidationError):
        Assistant(name="Bad", tools={"type": "code_interpreter"}).clean()
    with pytest.raises(ValidationError):
        Assistant(name="Bad", tools=[{"name": "x"}]).clean()
    Assistant(name="Good", tools=[{"type": "code_interpreter"}]).clean()


def test_a_thread_has_at_most_one_active_run(alice: User, make_thread: MakeThread) -> None:
    thread, run = make_thread(alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        Run.objects.create(thread=thread, assistant=thread.assistant, status="in_progress")


def test_ended_runs_do_not_count_against_the_active_one(
    alice: User, make_thread: MakeThread
) -> None:
    thread, _ = make_thread(alice, status="completed")
    Run.objects.create(thread=thread, assistant=thread.assistant, status="failed")
    Run.objects.create(thread=thread, assistant=thread.assistant, status="queued")
    other, _ = make_thread(alice)  # another thread's active run is independent
    assert Run.objects.filter(status="queued").count() == 2
    assert other.pk != thread.pk


def test_active_and_terminal_statuses_partition_all_statuses() -> None:
    assert set(Run.ACTIVE_STATUSES) == {"queued", "in_progress", "requires_action", "cancelling"}
    assert set(Run.TERMINAL_STATUSES) == {
        "cancelled",
        "failed",
        "completed",
        "incomplete",
        "expired",
    }
    assert Run(status="requires_action").is_active
    assert not Run(status="expired").is_active


def test_timings_are_derived_from_the_timestamps() -> None:
    start = timezone.now()
    run = Run(
        created_at=start,
        first_token_at=start + timedelta(seconds=0.5),
        completed_at=start + timedelta(seconds=2.5),
        completion_tokens=40,
    )
    assert run.time_to_first_token == timedelta(seconds=0.5)
    assert run.duration == timedelta(seconds=2.5)
    assert run.tokens_per_second == pytest.approx(20.0)


def test_timings_are_none_until_known() -> None:
    run = Run(created_at=timezone.now())
    assert run.time_to_first_token is None
    assert run.duration is None
    assert run.tokens_per_second is None
    run.first_token_at = run.completed_at = run.created_at
    run.completion_tokens = 5
    assert run.tokens_per_second is None  # no time elapsed: no meaningful rate
