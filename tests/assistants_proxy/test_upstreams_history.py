"""fit_history: the oldest messages go first, the message being answered never."""

from __future__ import annotations

from assistants_proxy.upstreams import fit_history
from assistants_proxy.usage import estimate_prompt_tokens


def conversation(turns: int, size: int = 100) -> list[dict[str, str]]:
    messages = []
    for turn in range(turns):
        messages.append({"role": "user", "content": f"q{turn} " + "x" * size})
        messages.append({"role": "assistant", "content": f"a{turn} " + "y" * size})
    return [*messages, {"role": "user", "content": "the question"}]


def test_without_a_budget_nothing_is_dropped() -> None:
    messages = conversation(3)
    assert fit_history(messages) == messages


def test_the_oldest_messages_are_dropped_until_the_rest_fits() -> None:
    messages = conversation(5)
    kept = fit_history(messages, max_chars=500)

    assert kept == messages[-len(kept) :] and len(kept) < len(messages)
    assert sum(len(m["content"]) + 16 for m in kept) <= 500


def test_a_token_budget_counts_tokens_as_the_estimator_does_framing_included() -> None:
    messages = conversation(5)
    kept = fit_history(messages, max_tokens=150)

    assert kept == messages[-len(kept) :] and 1 < len(kept) < len(messages)
    assert estimate_prompt_tokens(kept) <= 150 < estimate_prompt_tokens(messages[-len(kept) - 1 :])


def test_the_last_user_message_is_kept_even_alone_over_budget() -> None:
    messages = [*conversation(2), {"role": "user", "content": "z" * 1000}]
    assert fit_history(messages, max_chars=10) == [messages[-1]]


def test_last_messages_keeps_the_n_most_recent() -> None:
    messages = conversation(4)
    strategy = {"type": "last_messages", "last_messages": 3}

    assert fit_history(messages, truncation_strategy=strategy) == messages[-3:]
    assert fit_history(messages, truncation_strategy={"type": "auto"}) == messages
    assert fit_history(messages, truncation_strategy={**strategy, "last_messages": 0}) == [
        messages[-1]
    ]
