"""The Assistants API (/v1/) in front of the real model: the official SDK's streamed
create-and-run yields exactly what the model generates for the same request, in the seed's
event order, and the run is stored with its usage."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from tests.e2e.appserver import RunningApp
from tests.real_model.modelserver import RealModel, stream_chat
from tests.real_model.suite import INSTRUCTIONS, QUESTION
from tests.v1.support import create_key, delta_text, pk, sdk, seed_event_names, stored_reply

pytestmark = [pytest.mark.real_model, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

MAX_TOKENS = 48


async def test_create_and_run_streams_what_the_model_generates(
    chat_app: RunningApp, real_model: RealModel
) -> None:
    messages = [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": QUESTION}]
    async with httpx.AsyncClient(timeout=120) as http:
        await real_model.clear_prompt_cache(http)
        expected = await stream_chat(http, real_model, messages, max_tokens=MAX_TOKENS)
        await real_model.clear_prompt_cache(http)
    with sdk(chat_app, create_key(chat_app, "alice")) as client:
        text, thread_id, run = _create_and_run(client, real_model)
    assert expected.text and text == expected.text
    assert stored_reply(chat_app, pk(thread_id)) == text
    assert run.status == "completed" and run.usage is not None
    assert run.usage.completion_tokens > 0 and run.usage.prompt_tokens > 0


def _create_and_run(client: openai.OpenAI, real_model: RealModel) -> tuple[str, str, Any]:
    """The streamed reply's text, its thread's id and the run as retrieved afterwards."""
    client.timeout = 120
    assistant = client.beta.assistants.create(model=real_model.model, instructions=INSTRUCTIONS)
    events = list(
        client.beta.threads.create_and_run(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": QUESTION}]},
            temperature=0,
            max_completion_tokens=MAX_TOKENS,
            stream=True,
        )
    )
    assert [event.event for event in events] == seed_event_names()[:-1]
    thread_id, run_id = events[0].data.id, events[-1].data.id
    run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
    return delta_text(events), thread_id, run
