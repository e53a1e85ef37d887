"""Text no database can keep is refused inside the JSON a request gives too (tools,
tool_choice, response_format): a JSON column refuses it as a text one does."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from chat.models import Assistant, Run, Thread
from tests.chat.test_v1_storable import BAD, refused
from tests.chat.v1_client import V1


def tools(text: str) -> list[dict[str, object]]:
    return [{"type": "function", "function": {"name": "f", "description": text}}]


@pytest.mark.parametrize("text", BAD)
def test_assistant_tools_are_refused(alice: User, text: str) -> None:
    Assistant.objects.create(name="Offered", model="m")
    mine = Assistant.objects.create(owner=alice, name="Kept", model="m")
    api = V1(alice)
    refused(api.post("/assistants", {"model": "m", "tools": tools(text)}), "tools")
    refused(api.post(f"/assistants/asst_{mine.pk}", {"tools": tools(text)}), "tools")
    keyed = [{"type": "function", "function": {"name": "f", "parameters": {text: {}}}}]
    refused(api.post(f"/assistants/asst_{mine.pk}", {"tools": keyed}), "tools")
    assert Assistant.objects.filter(owner=alice).count() == 1
    assert Assistant.objects.get(pk=mine.pk).tools == []


@pytest.mark.parametrize("text", BAD)
def test_run_json_settings_are_refused(alice: User, text: str) -> None:
    mine = Assistant.objects.create(owner=alice, name="Kept", model="m")
    thread = Thread.objects.create(owner=alice, assistant=mine)
    api, base = V1(alice), {"assistant_id": f"asst_{mine.pk}"}
    for body, param in (
        ({"tools": tools(text)}, "tools"),
        ({"tool_choice": {"type": "function", "function": {"name": text}}}, "tool_choice"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": text}}},
         "response_format"),
    ):  # fmt: skip
        refused(api.post(f"/threads/thread_{thread.pk}/runs", {**base, **body}), param)
        refused(api.post("/threads/runs", {**base, **body}), param)
    assert not Run.objects.exists()
    assert Thread.objects.count() == 1
