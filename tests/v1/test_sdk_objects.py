"""Assistants, threads, messages and runs as objects: CRUD, the pagination iterators, the
API's error shapes, and isolation (bob's key sees none of alice's objects)."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.e2e.appserver import RunningApp

ERROR_KEYS = {"message", "type", "param", "code"}


def test_assistants_crud(alice_sdk: openai.OpenAI) -> None:
    made = alice_sdk.beta.assistants.create(
        model="gpt-4o", name="Math", instructions="Add.", metadata={"team": "a"}, temperature=0.2
    )
    assert made.id.startswith("asst_") and made.object == "assistant"
    assert alice_sdk.beta.assistants.retrieve(made.id).name == "Math"
    changed = alice_sdk.beta.assistants.update(made.id, name="Sums", model="sim-chat")
    assert (changed.name, changed.model, changed.instructions) == ("Sums", "sim-chat", "Add.")
    deleted = alice_sdk.beta.assistants.delete(made.id)
    assert deleted.deleted and deleted.id == made.id
    with pytest.raises(openai.NotFoundError):
        alice_sdk.beta.assistants.retrieve(made.id)


def test_a_model_the_operator_does_not_offer_is_refused(raw_alice: httpx.Client) -> None:
    answer = raw_alice.post("/assistants", json={"model": "gpt-9"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert set(error) == ERROR_KEYS and error["param"] == "model"
    assert "gpt-4o" in error["message"] and "sim-chat" in error["message"]


def test_threads_and_messages_crud(alice_sdk: openai.OpenAI) -> None:
    thread = alice_sdk.beta.threads.create(
        messages=[{"role": "user", "content": "First"}], metadata={"k": "v"}
    )
    assert alice_sdk.beta.threads.retrieve(thread.id).metadata == {"k": "v"}
    assert alice_sdk.beta.threads.update(thread.id, metadata={"k": "w"}).metadata == {"k": "w"}
    added = alice_sdk.beta.threads.messages.create(
        thread_id=thread.id, role="user", content=[{"type": "text", "text": "Second"}]
    )
    got = alice_sdk.beta.threads.messages.retrieve(added.id, thread_id=thread.id)
    assert got.content[0].text.value == "Second"  # type: ignore[union-attr]
    updated = alice_sdk.beta.threads.messages.update(
        added.id, thread_id=thread.id, metadata={"seen": "yes"}
    )
    assert updated.metadata == {"seen": "yes"}
    assert alice_sdk.beta.threads.messages.delete(added.id, thread_id=thread.id).deleted
    assert len(alice_sdk.beta.threads.messages.list(thread_id=thread.id).data) == 1
    assert alice_sdk.beta.threads.delete(thread.id).deleted
    with pytest.raises(openai.NotFoundError):
        alice_sdk.beta.threads.retrieve(thread.id)


def test_the_pagination_iterators_walk_every_page(alice_sdk: openai.OpenAI) -> None:
    texts = [f"Message {n}" for n in range(7)]
    thread = alice_sdk.beta.threads.create(
        messages=[{"role": "user", "content": text} for text in texts]
    )
    page = alice_sdk.beta.threads.messages.list(thread_id=thread.id, limit=3, order="asc")
    assert page.has_more and page.first_id == page.data[0].id and page.last_id == page.data[-1].id
    walked = [m.content[0].text.value for m in page]  # type: ignore[union-attr]
    assert walked == texts  # the iterator follows `after` across pages
    newest = alice_sdk.beta.threads.messages.list(thread_id=thread.id, limit=3)
    assert [m.content[0].text.value for m in newest.data] == texts[:-4:-1]  # type: ignore[union-attr]
    before = alice_sdk.beta.threads.messages.list(
        thread_id=thread.id, limit=2, order="asc", before=page.data[2].id
    )
    assert [m.id for m in before.data] == [m.id for m in page.data[:2]]


def test_assistants_list_paginates(alice_sdk: openai.OpenAI) -> None:
    made = [alice_sdk.beta.assistants.create(model="gpt-4o", name=f"P{n}").id for n in range(4)]
    listed = [a.id for a in alice_sdk.beta.assistants.list(limit=2, order="asc")]
    assert listed[-4:] == made


def test_bad_list_parameters_name_the_parameter(raw_alice: httpx.Client) -> None:
    for query, param in (("limit=0", "limit"), ("limit=x", "limit"), ("order=up", "order")):
        answer = raw_alice.get(f"/assistants?{query}")
        assert answer.status_code == 400 and answer.json()["error"]["param"] == param


def test_401_shape_for_a_bad_or_missing_key(v1_app: RunningApp) -> None:
    bad = openai.OpenAI(base_url=f"{v1_app.url}/v1", api_key="sk-chat-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        bad.beta.assistants.list()
    assert raised.value.status_code == 401
    body = httpx.get(f"{v1_app.url}/v1/threads/thread_1").json()
    assert set(body["error"]) == ERROR_KEYS
    assert body["error"]["type"] == "authentication_error"


def test_404_shape_for_unknown_ids_and_paths(raw_alice: httpx.Client) -> None:
    for path in (
        "/threads/thread_999999",
        "/threads/nonsense",
        "/assistants/asst_999999",
        "/no/such/endpoint",
    ):
        answer = raw_alice.get(path)
        assert answer.status_code == 404, path
        assert set(answer.json()["error"]) == ERROR_KEYS
        assert answer.json()["error"]["type"] == "invalid_request_error"


def test_bad_bodies_change_nothing(raw_alice: httpx.Client) -> None:
    before = raw_alice.get("/assistants?limit=100").json()["data"]
    for body in (b"not json", b"[1]", b'{"model": 5}'):
        answer = raw_alice.post("/assistants", content=body)
        assert answer.status_code == 400 and set(answer.json()["error"]) == ERROR_KEYS
    answer = raw_alice.post("/threads", json={"messages": [{"role": "system", "content": "x"}]})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "messages[0].role"
    assert raw_alice.get("/assistants?limit=100").json()["data"] == before


def test_bob_sees_none_of_alices_objects(alice_sdk: openai.OpenAI, bob_sdk: openai.OpenAI) -> None:
    assistant = alice_sdk.beta.assistants.create(model="gpt-4o", name="Alice's")
    thread = alice_sdk.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])
    run = alice_sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=100
    )
    message = alice_sdk.beta.threads.messages.list(thread_id=thread.id).data[0]
    attempts = [
        lambda: bob_sdk.beta.assistants.retrieve(assistant.id),
        lambda: bob_sdk.beta.assistants.update(assistant.id, name="Bob's now"),
        lambda: bob_sdk.beta.assistants.delete(assistant.id),
        lambda: bob_sdk.beta.threads.retrieve(thread.id),
        lambda: bob_sdk.beta.threads.delete(thread.id),
        lambda: bob_sdk.beta.threads.messages.list(thread_id=thread.id),
        lambda: bob_sdk.beta.threads.messages.retrieve(message.id, thread_id=thread.id),
        lambda: bob_sdk.beta.threads.runs.retrieve(run.id, thread_id=thread.id),
        lambda: bob_sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id),
        lambda: bob_sdk.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id),
        lambda: bob_sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id),
        lambda: bob_sdk.beta.threads.create_and_run(assistant_id=assistant.id),
    ]
    for attempt in attempts:
        with pytest.raises(openai.NotFoundError):
            attempt()
    assert assistant.id not in [a.id for a in bob_sdk.beta.assistants.list()]
    assert alice_sdk.beta.assistants.retrieve(assistant.id).name == "Alice's"
    assert alice_sdk.beta.threads.retrieve(thread.id).id == thread.id
