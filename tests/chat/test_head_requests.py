"""HEAD is answered as GET is, headers only, on every URL that answers GET (a monitor or a
link checker asks with HEAD); where GET is not allowed, neither is HEAD."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from chat.models import Assistant, Thread
from tests.chat.v1_client import V1

pytestmark = pytest.mark.django_db


def test_head_on_an_api_list_answers_as_get_without_a_body(alice_client: Client) -> None:
    got = alice_client.get("/api/threads/")
    head = alice_client.head("/api/threads/")
    assert head.status_code == got.status_code == 200
    assert head["Content-Type"] == got["Content-Type"] == "application/json"
    assert head.content == b""


def test_head_where_only_post_is_allowed_is_405_and_says_what_is(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    thread = Thread.objects.create(owner=alice, assistant=Assistant.objects.create(name="A"))
    refused = client.head(f"/api/threads/{thread.pk}/branch/")
    assert refused.status_code == 405
    assert refused["Allow"] == "POST"


def test_head_on_the_assistants_api_answers_as_get(alice: User) -> None:
    Assistant.objects.create(name="A", model="m")
    api = V1(alice)
    got = api.client.get("/v1/assistants")
    head = api.client.head("/v1/assistants")
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    refused = api.client.head("/v1/threads/runs")  # POST only
    assert refused.status_code == 405
    assert "HEAD" not in refused["Allow"]
