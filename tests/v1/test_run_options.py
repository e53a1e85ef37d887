"""What a run request changes of its assistant, for that run only."""

from __future__ import annotations

import httpx
import openai


def test_a_run_can_change_its_assistants_settings_for_itself(alice_sdk: openai.OpenAI) -> None:
    assistant = alice_sdk.beta.assistants.create(
        model="sim-chat", instructions="Be brief.", temperature=0.5
    )
    thread = alice_sdk.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])
    run = alice_sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        additional_instructions="Answer in French.",
        temperature=0.1,
        max_completion_tokens=50,
        truncation_strategy={"type": "last_messages", "last_messages": 4},
        poll_interval_ms=100,
    )
    assert run.status == "completed"
    assert run.instructions == "Be brief.\n\nAnswer in French."
    assert (run.temperature, run.max_completion_tokens) == (0.1, 50)
    assert run.truncation_strategy.type == "last_messages"  # type: ignore[union-attr]
    unchanged = alice_sdk.beta.assistants.retrieve(assistant.id)
    assert (unchanged.instructions, unchanged.temperature) == ("Be brief.", 0.5)


def test_bad_run_settings_are_refused_and_start_nothing(
    alice_sdk: openai.OpenAI, raw_alice: httpx.Client
) -> None:
    assistant = alice_sdk.beta.assistants.create(model="gpt-4o")
    thread = alice_sdk.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])
    base = {"assistant_id": assistant.id}
    for extra, param in (
        ({"temperature": 7}, "temperature"),
        ({"max_completion_tokens": 0}, "max_completion_tokens"),
        ({"tool_choice": {"type": "function"}}, "tool_choice"),
        ({"model": "sim-chat"}, "model"),
        ({"truncation_strategy": {"type": "middle"}}, "truncation_strategy"),
        ({"additional_messages": [{"role": "user", "content": ""}]}, None),
    ):
        answer = raw_alice.post(f"/threads/{thread.id}/runs", json={**base, **extra})
        assert answer.status_code == 400, extra
        assert answer.json()["error"]["param"] == param
    assert alice_sdk.beta.threads.runs.list(thread_id=thread.id).data == []
    assert len(alice_sdk.beta.threads.messages.list(thread_id=thread.id).data) == 1
