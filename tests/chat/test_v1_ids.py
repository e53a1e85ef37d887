"""/v1/ ids have one spelling: any other form of a real id is as unknown as a missing one."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from chat.errors import NotFound
from chat.models import Assistant, Thread
from chat.v1.ids import internal, unnamed
from tests.chat.v1_client import V1, error_of


@pytest.mark.parametrize("value", ["thread_09", "thread_0009", "thread_0", "thread_+9", "thread_٩"])
def test_a_non_canonical_id_names_nothing(value: str) -> None:
    with pytest.raises(NotFound):
        internal("thread", value)


def test_the_canonical_id_still_reads_back() -> None:
    assert internal("thread", "thread_9") == 9
    assert unnamed("msg", "msg_12") == 12
    assert unnamed("msg", "msg_012") is None  # then it can only be an upstream's name


def test_a_thread_with_leading_zeros_in_its_id_is_404(alice: User) -> None:
    assistant = Assistant.objects.create(name="A", model="m")
    thread = Thread.objects.create(owner=alice, assistant=assistant)
    api = V1(alice)
    assert api.get(f"/threads/thread_{thread.pk}").status_code == 200
    response = api.get(f"/threads/thread_000{thread.pk}")
    assert response.status_code == 404
    assert error_of(response)["message"] == f"No thread found with id 'thread_000{thread.pk}'."
