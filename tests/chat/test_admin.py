from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from pytest_django import Settings

from chat.models import Assistant, Message, Run, RunStep, Thread, UserUsage

pytestmark = pytest.mark.django_db

MakeThread = Callable[..., tuple[Thread, Run]]


@pytest.fixture
def data(alice: User, bob: User, make_thread: MakeThread) -> dict[str, int]:
    thread, run = make_thread(alice, content="Hello", status="completed")
    Run.objects.filter(pk=run.pk).update(
        prompt_tokens=1138, completion_tokens=11, total_tokens=1149
    )
    message = thread.messages.create(role="assistant", content="Hi!", run=run, status="completed")
    step = RunStep.objects.create(
        run=run, type="tool_calls", status="completed", step_details={"tool_calls": []}
    )
    make_thread(bob, content="bob's")
    return {
        "assistant": Assistant.objects.get(is_default=True).pk,
        "thread": thread.pk,
        "run": run.pk,
        "message": message.pk,
        "runstep": step.pk,
        "userusage": alice.pk,
    }


@pytest.mark.parametrize("model", ["assistant", "thread", "run", "message", "runstep", "userusage"])
def test_every_model_has_a_changelist_and_a_change_page(
    admin_client: Client, data: dict[str, int], model: str
) -> None:
    assert admin_client.get(f"/admin/chat/{model}/").status_code == 200
    assert admin_client.get(f"/admin/chat/{model}/{data[model]}/change/").status_code == 200


def test_assistants_can_be_added(admin_client: Client, settings: Settings) -> None:
    settings.UPSTREAM_KEY_VARIABLES = ["OLLAMA_KEY"]
    assert admin_client.get("/admin/chat/assistant/add/").status_code == 200
    response = admin_client.post(
        "/admin/chat/assistant/add/",
        {
            "name": "Ollama",
            "protocol": "chat_completions",
            "base_url": "http://localhost:11434/v1",
            "api_key_env": "OLLAMA_KEY",
            "model": "llama3",
            "instructions": "",
            "tools": "[]",
            "response_format": '"auto"',
            "truncation_strategy": '{"type": "auto", "last_messages": null}',
        },
    )
    assert response.status_code == 302
    assistant = Assistant.objects.get(name="Ollama")
    assert (assistant.protocol, assistant.api_key_env) == ("chat_completions", "OLLAMA_KEY")


def test_the_assistant_form_says_api_key_env_is_a_variable_name(admin_client: Client) -> None:
    page = admin_client.get("/admin/chat/assistant/add/").content.decode()
    assert "The NAME of an environment variable" in page


def test_the_admin_refuses_tools_that_are_not_a_list(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/chat/assistant/add/",
        {
            "name": "Broken",
            "protocol": "assistants",
            "model": "gpt-4o",
            "tools": '{"type": "code_interpreter"}',
            "response_format": '"auto"',
            "truncation_strategy": "{}",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert not Assistant.objects.filter(name="Broken").exists()


def test_the_run_list_shows_timings_and_usage(admin_client: Client, data: dict[str, int]) -> None:
    page = admin_client.get("/admin/chat/run/").content.decode()
    assert "1138 + 11 = 1149" in page
    assert "alice" in page


def test_runs_can_be_filtered_by_owner_status_and_model(
    admin_client: Client, data: dict[str, int], alice: User
) -> None:
    response = admin_client.get(
        "/admin/chat/run/", {"thread__owner__id__exact": str(alice.pk), "status": "completed"}
    )
    assert response.status_code == 200
    assert [run.pk for run in response.context["cl"].result_list] == [data["run"]]
    response = admin_client.get("/admin/chat/run/", {"model": "llama3"})
    assert list(response.context["cl"].result_list) == []


def test_usage_per_user_is_sorted_by_total_tokens(
    admin_client: Client, data: dict[str, int]
) -> None:
    response = admin_client.get("/admin/chat/userusage/")
    rows = list(response.context["cl"].result_list)
    assert rows[0].username == "alice"
    assert rows[0].total_tokens == 1149
    # Sorting by the annotated column from the list header works too (ascending).
    response = admin_client.get("/admin/chat/userusage/", {"o": "4"})  # 4: total_tokens
    rows = list(response.context["cl"].result_list)
    assert [row.total_tokens for row in rows] == sorted(row.total_tokens for row in rows)
    assert rows[-1].username == "alice"


def test_usage_rows_cannot_be_deleted_or_added(admin_client: Client, data: dict[str, int]) -> None:
    assert admin_client.get("/admin/chat/userusage/add/").status_code == 403
    response = admin_client.get(f"/admin/chat/userusage/{data['userusage']}/delete/")
    assert response.status_code == 403
    assert UserUsage.objects.filter(pk=data["userusage"]).exists()


def test_messages_are_inline_on_their_thread(admin_client: Client, data: dict[str, int]) -> None:
    page = admin_client.get(f"/admin/chat/thread/{data['thread']}/change/").content.decode()
    assert "Hi!" in page
    assert Message.objects.filter(pk=data["message"]).exists()


def test_ensure_assistant_creates_then_updates_by_name(db: None) -> None:
    args = ["Local", "--protocol", "chat_completions", "--base-url", "http://127.0.0.1:1/v1"]
    call_command("ensure_assistant", *args, "--model", "small", "--context-window", "2048")
    call_command("ensure_assistant", *args, "--model", "smaller")
    [assistant] = Assistant.objects.filter(name="Local")
    assert (assistant.model, assistant.context_window) == ("smaller", None)
    # `make run`'s: the built-in simulator (a blank base URL), created once, edits kept.
    simulator = ["Sim", "--protocol", "chat_completions", "--model", "gpt-4o", "--if-missing"]
    call_command("ensure_assistant", *simulator)
    Assistant.objects.filter(name="Sim").update(model="edited in the admin")
    call_command("ensure_assistant", *simulator)
    [sim] = Assistant.objects.filter(name="Sim")
    assert (sim.base_url, sim.model) == ("", "edited in the admin")
    with pytest.raises(CommandError, match="not a valid assistant"):
        call_command("ensure_assistant", "Bad", "--protocol", "responses", "--base-url", "x",
                     "--model", "m", "--context-window", "-3")  # fmt: skip
