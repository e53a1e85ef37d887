"""Text no database can keep (a NUL, a lone surrogate sent as the JSON escape "\\ud800") is
refused by every text field of /v1/, as the web chat refuses it, and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from chat.models import Assistant, Message, Run, Thread
from tests.chat.v1_client import V1, error_of

BAD = ["a lone \ud800 here", "a NUL \x00 here", "\udfff"]


@pytest.fixture
def api(alice: User) -> V1:
    return V1(alice)


@pytest.fixture
def assistant(alice: User) -> Assistant:
    Assistant.objects.create(name="Offered", model="m")  # the operator's: offers model "m"
    return Assistant.objects.create(
        owner=alice, name="Kept", description="d", instructions="i", model="m"
    )


@pytest.fixture
def thread(alice: User, assistant: Assistant) -> Thread:
    thread = Thread.objects.create(owner=alice, assistant=assistant, metadata={"k": "v"})
    Message.objects.create(thread=thread, role="user", content="Hi", metadata={"k": "v"})
    return thread


def refused(response: Any, param: str) -> None:
    assert response.status_code == 400, response.content[:300]
    error = error_of(response)
    assert (error["code"], error["param"], error["type"]) == (
        "unstorable_text",
        param,
        "invalid_request_error",
    )
    assert "NUL character or an unpaired surrogate" in error["message"]


def bad_metadata(text: str) -> list[dict[str, Any]]:
    return [{"metadata": {"k": text}}, {"metadata": {text: "v"}}]


@pytest.mark.parametrize("text", BAD)
@pytest.mark.parametrize("field", ["name", "description", "instructions"])
def test_assistant_text_is_refused_on_create_and_modify(
    api: V1, alice: User, assistant: Assistant, field: str, text: str
) -> None:
    refused(api.post("/assistants", {"model": "m", field: text}), field)
    refused(api.post(f"/assistants/asst_{assistant.pk}", {field: text}), field)
    assert Assistant.objects.filter(owner=alice).count() == 1
    kept = Assistant.objects.get(owner=alice)
    assert (kept.name, kept.description, kept.instructions) == ("Kept", "d", "i")


@pytest.mark.parametrize("text", BAD)
def test_metadata_is_refused_everywhere(
    api: V1, alice: User, assistant: Assistant, thread: Thread, text: str
) -> None:
    message = thread.messages.get()
    paths = [
        "/assistants",
        f"/assistants/asst_{assistant.pk}",
        "/threads",
        f"/threads/thread_{thread.pk}",
        f"/threads/thread_{thread.pk}/messages",
        f"/threads/thread_{thread.pk}/messages/msg_{message.pk}",
    ]
    for path in paths:
        for body in bad_metadata(text):
            extra = {"model": "m"} if path == "/assistants" else {}
            extra |= {"role": "user", "content": "x"} if path.endswith("/messages") else {}
            refused(api.post(path, {**extra, **body}), "metadata")
    mine = Assistant.objects.filter(owner=alice)
    assert (mine.count(), Thread.objects.count(), Message.objects.count()) == (1, 1, 1)
    assert Assistant.objects.get(pk=assistant.pk).metadata == {}
    assert Thread.objects.get().metadata == Message.objects.get().metadata == {"k": "v"}


@pytest.mark.parametrize("text", BAD)
def test_run_text_is_refused_and_starts_nothing(
    api: V1, assistant: Assistant, thread: Thread, text: str
) -> None:
    base = {"assistant_id": f"asst_{assistant.pk}"}
    bodies = [
        ({"instructions": text}, "instructions"),
        ({"additional_instructions": text}, "additional_instructions"),
        *((body, "metadata") for body in bad_metadata(text)),
    ]
    for body, param in bodies:
        refused(api.post(f"/threads/thread_{thread.pk}/runs", {**base, **body}), param)
        refused(api.post("/threads/runs", {**base, **body}), param)
    assert not Run.objects.exists()
    assert (Thread.objects.count(), Message.objects.count()) == (1, 1)


@pytest.mark.parametrize("text", BAD)
def test_run_metadata_and_tool_outputs_are_refused(
    api: V1,
    alice: User,
    assistant: Assistant,
    make_thread: Callable[..., tuple[Thread, Run]],
    text: str,
) -> None:
    thread, run = make_thread(alice, status="requires_action")
    for body in bad_metadata(text):
        refused(api.post(f"/threads/thread_{thread.pk}/runs/run_{run.pk}", body), "metadata")
    outputs = {"tool_outputs": [{"tool_call_id": "call_1", "output": text}]}
    path = f"/threads/thread_{thread.pk}/runs/run_{run.pk}/submit_tool_outputs"
    refused(api.post(path, outputs), "tool_outputs[0].output")
    run.refresh_from_db()
    assert (run.status, run.metadata) == ("requires_action", {})
