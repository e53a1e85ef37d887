"""The token estimate used when an upstream reports no usage (`assistants_proxy.usage`).

The expected counts are SmolLM2's (the tests' real model server, `/extras/tokenize/count`);
`tests/real_model/test_estimates.py` checks whole prompts against the server itself.
"""

from __future__ import annotations

from typing import Any

import pytest

from assistants_proxy.usage import (
    MESSAGE_FRAMING_TOKENS,
    REPLY_PRIMING_TOKENS,
    estimate_prompt_tokens,
    estimate_tokens,
    estimate_usage,
)

# (text, SmolLM2's count of it)
COUNTED = {
    "prose": (
        "The river leaves the mountains in a narrow valley, where old stone bridges cross it "
        "every few miles. Farmers along its banks grow wheat, barley and vegetables, and in "
        "spring the water rises quickly after the snow melts.",
        43,
    ),
    "reply": (
        "The capital of France is Paris. It is known for the Eiffel Tower, the Louvre and its "
        "cafés.",
        24,
    ),
    "json": (
        '{"location": "Paris, France", "temperature": 18.5, "unit": "c", '
        '"conditions": "partly cloudy", "wind_speed_kmh": 11.2}',
        45,
    ),
    "code": ("def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n", 30),
    "numbers": (
        "Count from 1 to 20: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, "
        "19, 20.",
        80,
    ),
    "markdown": (
        "| status | code | when |\n| --- | --- | --- |\n"
        "| 400 | `invalid_json` | the body is not JSON, or not a JSON object |\n"
        "| 404 | `not_found` | no such thread or run |",
        59,
    ),
}


@pytest.mark.parametrize("name", COUNTED)
def test_the_estimate_is_within_15_percent_of_a_real_tokeniser(name: str) -> None:
    text, counted = COUNTED[name]

    assert abs(estimate_tokens(text) - counted) <= 0.15 * counted
    # Four characters a token, the estimate before, missed all but the first two by far more.


def test_nothing_is_no_token_and_any_text_is_at_least_one() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens(" ") == estimate_tokens("?") == estimate_tokens("a") == 1


def test_each_digit_counts_where_characters_would_not() -> None:
    # Llama-family and SmolLM tokenisers split numbers into digits: a list of numbers is
    # three times the tokens its length suggests.
    assert estimate_tokens("1234567890") == 10
    assert estimate_tokens("12, 345, 6789") > len("12, 345, 6789") / 4 * 2


def test_a_long_word_is_more_than_one_token_and_accents_add() -> None:
    assert estimate_tokens("cat") == 1
    assert estimate_tokens("internationalisation") == 3
    assert estimate_tokens("café") == 2


def test_a_prompt_counts_each_message_framing_and_the_reply_opening() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    text = estimate_tokens("Be brief.") + estimate_tokens("Hi")

    assert estimate_prompt_tokens(messages) == text + 2 * MESSAGE_FRAMING_TOKENS + (
        REPLY_PRIMING_TOKENS
    )
    # SmolLM2's server counts this prompt as 18 tokens.
    assert abs(estimate_prompt_tokens(messages) - 18) <= 2


def test_a_prompt_counts_tool_call_arguments_and_tool_outputs() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
    messages: list[dict[str, Any]] = [
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]

    framing = 2 * MESSAGE_FRAMING_TOKENS + REPLY_PRIMING_TOKENS
    expected = framing + estimate_tokens('{"a": 1}') + estimate_tokens("sunny")
    assert estimate_prompt_tokens(messages) == expected


def test_estimated_usage_uses_the_estimate_and_says_so() -> None:
    usage = estimate_usage(prompt_text="What is 12 + 30?", completion_text="42")

    assert usage["prompt_tokens"] == estimate_tokens("What is 12 + 30?") + REPLY_PRIMING_TOKENS
    assert usage["completion_tokens"] == 2
    assert usage["total_tokens"] == usage["prompt_tokens"] + 2
    assert usage["estimated"] is True
    # Unknown text (a run settled from an upstream's final state) is no tokens.
    assert estimate_usage(prompt_text="", completion_text="")["total_tokens"] == 0
