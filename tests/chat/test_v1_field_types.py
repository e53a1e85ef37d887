"""A field of the wrong type is named as such, not as missing: the client's fix differs."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from chat.models import Assistant, Run, Thread
from tests.chat.v1_client import V1, error_of


@pytest.fixture
def thread(alice: User) -> Thread:
    assistant = Assistant.objects.create(name="A", model="m")
    return Thread.objects.create(owner=alice, assistant=assistant)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"assistant_id": 5}, "'assistant_id' must be a string."),
        ({"assistant_id": ["asst_1"]}, "'assistant_id' must be a string."),
        ({"assistant_id": True}, "'assistant_id' must be a string."),
        ({}, "'assistant_id' is required."),
        ({"assistant_id": None}, "'assistant_id' is required."),
        ({"assistant_id": ""}, "'assistant_id' is required."),
    ],
)
def test_a_run_names_what_is_wrong_with_its_assistant_id(
    alice: User, thread: Thread, body: dict[str, Any], message: str
) -> None:
    api = V1(alice)
    for path in (f"/threads/thread_{thread.pk}/runs", "/threads/runs"):
        response = api.post(path, body)
        assert response.status_code == 400, path
        assert error_of(response) == {
            "message": message,
            "type": "invalid_request_error",
            "param": "assistant_id",
            "code": "invalid_request_error",
        }
    assert not Run.objects.exists()
    assert Thread.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [({"model": 5}, "'model' must be a string."), ({}, "'model' is required.")],
)
def test_an_assistant_names_what_is_wrong_with_its_model(
    alice: User, body: dict[str, Any], message: str
) -> None:
    response = V1(alice).post("/assistants", body)
    assert response.status_code == 400
    assert (error_of(response)["message"], error_of(response)["param"]) == (message, "model")
    assert not Assistant.objects.filter(owner=alice).exists()
