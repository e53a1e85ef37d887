"""A continued reply's start (`chat.runs.prefill.Prefill`): one delta with the old text when
the reply opens, and the old text in front of the upstream's final object."""

from __future__ import annotations

from assistants_proxy.events import StreamEvent, make_event
from chat.runs.prefill import Prefill


def created(role: str = "assistant") -> StreamEvent:
    return make_event("thread.message.created", {"id": "msg_1", "role": role, "content": []})


def test_the_reply_opens_with_the_old_text_once() -> None:
    prefill = Prefill("Rivers carve ")
    assert prefill.opening(created("user")) is None
    delta = prefill.opening(created())
    assert delta is not None and delta.name == "thread.message.delta"
    assert delta.data["id"] == "msg_1"
    assert delta.data["delta"]["content"][0]["text"]["value"] == "Rivers carve "
    assert prefill.opening(created()) is None


def test_the_final_object_gets_the_old_text_in_front() -> None:
    prefill = Prefill("Rivers carve ")
    prefill.opening(created())
    text = {"value": "valleys.", "annotations": []}
    done = make_event(
        "thread.message.completed",
        {"id": "msg_1", "role": "assistant", "content": [{"type": "text", "text": text}]},
    )
    whole = prefill.whole(done)
    assert whole.data["content"][0]["text"]["value"] == "Rivers carve valleys."
    assert done.data["content"][0]["text"]["value"] == "valleys."  # the upstream's untouched


def test_nothing_changes_without_old_text_or_for_another_message() -> None:
    empty = Prefill("")
    assert empty.opening(created()) is None
    prefill = Prefill("Start ")
    prefill.opening(created())
    other = make_event("thread.message.completed", {"id": "msg_2", "content": []})
    assert prefill.whole(other) is other
    bare = make_event("thread.message.completed", {"id": "msg_1", "content": []})
    assert prefill.whole(bare) is bare
