"""The same API request, whatever protocol the operator's upstream for the model speaks:
the simulator answers in each (Assistants, Chat Completions, Responses)."""

from __future__ import annotations

import openai
import pytest

from tests.e2e.appserver import RunningApp
from tests.v1.support import MODELS, pk, seed_event_names, stored_reply


@pytest.mark.parametrize("protocol", sorted(MODELS))
def test_create_and_run_streams_alike_over_every_protocol(
    protocol: str, alice_sdk: openai.OpenAI, v1_app: RunningApp
) -> None:
    assistant = alice_sdk.beta.assistants.create(model=MODELS[protocol], name=protocol)
    events = list(
        alice_sdk.beta.threads.create_and_run(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": "Hello"}]},
            stream=True,
        )
    )
    names = [event.event for event in events]
    assert names[0] == "thread.created" and names[-1] == "thread.run.completed"
    # Every protocol is turned into the seed's vocabulary and order.
    assert names == seed_event_names()[:-1]
    thread_id, run = events[0].data.id, events[-1].data
    assert run.usage is not None and run.usage.total_tokens > 0
    assert stored_reply(v1_app, pk(thread_id)) == "Hello! How can I assist you today?"
    assert {run.id} == {
        e.data.id for e in events if e.event.startswith("thread.run.") and e.event.count(".") == 2
    }
