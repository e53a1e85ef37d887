"""The app's prompt-token estimates against the real server's count, for this suite's prompts.

The server sends no usage in a stream, so the usage the app stores for it is an estimate
(`usage_estimated`). The app makes it as the Chat Completions adapter's `RunBuilder` does:
`estimate_prompt_tokens(stateless.prompt_messages(state))`, the messages the request sends,
each with its framing. Each prompt here is built by the adapter itself (`first_conversation`,
`continue_conversation`) from the texts the other tests send, and its exact count, template
included, comes from the server (`modelserver.exact_prompt_tokens`).

Printed (`-s`): each prompt's error with 4 characters a token of the joined text (the
estimate before), and as the app makes it now.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from assistants_proxy.upstreams import RunRequest, make_upstream
from assistants_proxy.upstreams.chat import ChatCompletionsUpstream
from assistants_proxy.upstreams.state import RunState, ToolCall
from assistants_proxy.upstreams.stateless import prompt_messages
from assistants_proxy.usage import estimate_prompt_tokens
from tests.real_model.fakeweather import expected_output
from tests.real_model.modelserver import (
    Message,
    RealModel,
    exact_prompt_tokens,
    prompt_tokens,
    stream_chat,
)
from tests.real_model.suite import (
    ABOUT_THE_FIRST,
    INSTRUCTIONS,
    LONG_HISTORY,
    OVERFLOW,
    PLAIN,
    QUESTION,
    SHORT_QUESTION,
    STORY,
    STORY_INSTRUCTIONS,
    WEATHER_QUESTION,
)

pytestmark = pytest.mark.real_model

TOLERANCE = 0.20
CHEAP_TO_EVALUATE = 250  # tokens: a few seconds at worst on a busy machine
# A chatty history of short messages, where the framing of each message (~5 tokens) is a
# third of the prompt.
CHATTY = [("user" if i % 2 == 0 else "assistant", f"Message {i} is short.") for i in range(15)]


@dataclass
class Prompt:
    name: str
    state: RunState  # as the adapter holds it: `conversation` is what the request sends
    exact: int = 0

    @property
    def conversation(self) -> list[Message]:
        return self.state.conversation

    def errors(self) -> dict[str, float]:
        """Relative errors: before (4 characters a token of the joined text), and as the app
        estimates now."""
        text = "\n".join(str(m.get("content") or "") for m in self.conversation)
        estimates = {
            "before": -(-len(text) // 4),
            "app": estimate_prompt_tokens(prompt_messages(self.state)),
        }
        return {how: (value - self.exact) / self.exact for how, value in estimates.items()}


def first_request(
    upstream: ChatCompletionsUpstream, instructions: str, history: list[tuple[str, str]]
) -> RunState:
    messages = [{"role": role, "content": text} for role, text in history]
    request = RunRequest(model="m", messages=messages, instructions=instructions)
    return RunState({"id": "run_estimate"}, request, upstream.first_conversation(request))


def after_the_tool(upstream: ChatCompletionsUpstream) -> RunState:
    """The weather run's second request: the call (as SmolLM2 makes it) and its output."""
    state = first_request(upstream, INSTRUCTIONS, [("user", WEATHER_QUESTION)])
    call = ToolCall("call_1", "call_1", "get_weather", ['{ "location": "Paris" }'])
    output = json.dumps(expected_output("Paris", "c"))  # as `call_tool` serialises it
    state.conversation = upstream.continue_conversation(state, [call], {"call_1": output})
    return state


async def suite_prompts(http: httpx.AsyncClient, model: RealModel) -> list[Prompt]:
    upstream: Any = make_upstream("chat_completions", http, base_url=model.base_url)
    # The follow-up's history holds the model's own first answer, as test_app_replies has it.
    await model.clear_prompt_cache(http)
    system = {"role": "system", "content": INSTRUCTIONS}
    answer = await stream_chat(
        http, model, [system, {"role": "user", "content": QUESTION}], max_tokens=PLAIN.max_tokens
    )
    exchange = [("user", QUESTION), ("assistant", answer.text)]
    kept = [*LONG_HISTORY[1:], ("user", SHORT_QUESTION)]  # what trimming keeps of it
    histories = {
        "question": (INSTRUCTIONS, [("user", QUESTION)]),
        "follow-up": (INSTRUCTIONS, [*exchange, ("user", ABOUT_THE_FIRST)]),
        "story": (STORY_INSTRUCTIONS, [("user", STORY)]),
        "tool call": (INSTRUCTIONS, [("user", WEATHER_QUESTION)]),
        "short after overflow": (INSTRUCTIONS, [("user", SHORT_QUESTION)]),
        "long history, kept": (INSTRUCTIONS, kept),
        "long history, whole": (INSTRUCTIONS, [*LONG_HISTORY, ("user", SHORT_QUESTION)]),
        "overflow": (INSTRUCTIONS, [("user", OVERFLOW)]),
    }
    prompts = [Prompt(name, first_request(upstream, *h)) for name, h in histories.items()]
    prompts.append(Prompt("tool output", after_the_tool(upstream)))
    chatty = first_request(upstream, INSTRUCTIONS, CHATTY)
    prompts.append(Prompt("chatty", chatty))
    for prompt in prompts:
        prompt.exact = await exact_prompt_tokens(http, model, prompt.conversation)
    return prompts


async def test_prompt_estimates_are_within_20_percent_of_the_servers_count(
    real_model: RealModel,
) -> None:
    async with httpx.AsyncClient(timeout=60.0) as http:
        prompts = await suite_prompts(http, real_model)
        # The sum of the parts is the server's count: checked where a whole count is cheap.
        for prompt in (p for p in prompts if p.exact <= CHEAP_TO_EVALUATE):
            assert prompt.exact == await prompt_tokens(http, real_model, prompt.conversation)

    print(f"\n{'prompt':24} {'server':>6} {'4 chars':>8} {'app now':>8}")
    for prompt in prompts:
        errors = prompt.errors()
        row = " ".join(f"{errors[how]:+8.0%}" for how in ("before", "app"))
        print(f"{prompt.name:24} {prompt.exact:6} {row}")
    for prompt in prompts:
        errors = prompt.errors()
        assert abs(errors["app"]) <= TOLERANCE, (prompt.name, prompt.exact, errors)
