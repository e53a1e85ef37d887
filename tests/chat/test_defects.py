"""Defects seen on the way, each held by a test: the admin lists runs newest first, and an
assistant added in the admin gets the built-in tools (on by default, offered as boxes)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from chat.admin_tools import builtin_tool
from chat.models import Assistant, Run, Thread

pytestmark = pytest.mark.django_db

MakeThread = Callable[..., tuple[Thread, Run]]


@pytest.fixture
def admin_client(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_the_admin_lists_runs_newest_first(
    alice: User, admin_client: Client, make_thread: MakeThread
) -> None:
    runs = [make_thread(alice, content=f"t{i}")[1] for i in range(3)]
    page = admin_client.get("/admin/chat/run/").content.decode()
    listed = [int(pk) for pk in re.findall(r"/admin/chat/run/(\d+)/change/", page)]
    assert listed == [run.pk for run in reversed(runs)]


ADD_FORM = {
    "name": "Local",
    "protocol": "chat_completions",
    "base_url": "",
    "model": "llama3",
    "tools": "[]",
    "tool_choice": "auto",
    "response_format": '"auto"',
    "truncation_strategy": '{"type": "auto", "last_messages": null}',
    "responses_history": "full",
}


def test_a_new_assistant_offers_the_built_in_tools_ticked(admin_client: Client) -> None:
    page = admin_client.get("/admin/chat/assistant/add/").content.decode()
    box = re.search(r'<input[^>]*name="builtin_tools"[^>]*value="get_weather"[^>]*>', page)
    assert box is not None and "checked" in box.group(0)


def test_an_assistant_added_in_the_admin_gets_the_ticked_tools(admin_client: Client) -> None:
    form = {**ADD_FORM, "builtin_tools": ["get_weather"]}
    response = admin_client.post("/admin/chat/assistant/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Assistant.objects.get(name="Local").tools == [builtin_tool("get_weather")]


def test_unticking_keeps_the_other_tools_and_drops_the_built_in_one(admin_client: Client) -> None:
    other = {"type": "code_interpreter"}
    assistant = Assistant.objects.create(
        name="Local", model="llama3", tools=[other, builtin_tool("get_weather")]
    )
    page = admin_client.get(f"/admin/chat/assistant/{assistant.pk}/change/").content.decode()
    assert re.search(r'value="get_weather"[^>]*checked', page)
    form = {**ADD_FORM, "tools": '[{"type": "code_interpreter"}]'}
    response = admin_client.post(f"/admin/chat/assistant/{assistant.pk}/change/", form)
    assert response.status_code == 302
    assistant.refresh_from_db()
    assert assistant.tools == [other]
