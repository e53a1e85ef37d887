"""Fit a conversation into a context budget by dropping its oldest messages.

Stateless protocols are sent the whole history on every turn, so a long thread would
eventually exceed the model's context window (a 400 from the upstream). Whole messages are
dropped, oldest first; the last user message, the one being answered, is always kept, even
if it alone is over budget (the upstream then says so). A `truncation_strategy` of
``{"type": "last_messages", "last_messages": N}`` (the Assistants v2 run parameter) keeps
at most the N most recent messages first. A budget is in characters (`max_chars`) or in
tokens as `usage.estimate_prompt_tokens` counts them, each message's framing included
(`max_tokens`), or both.
"""

from __future__ import annotations

from typing import Any

from assistants_proxy.usage import CHARS_PER_TOKEN, estimate_prompt_tokens

Message = dict[str, Any]

# Chat framing (role markers, separators) costs a few tokens per message on every model.
MESSAGE_OVERHEAD_TOKENS = 4


def fit_history(
    messages: list[Message],
    *,
    max_chars: int | None = None,
    max_tokens: int | None = None,
    truncation_strategy: dict[str, Any] | None = None,
) -> list[Message]:
    kept = _last_messages(messages, truncation_strategy)
    if max_chars is None and max_tokens is None:
        return kept
    anchor = _last_user_index(kept)
    while len(kept) > 1 and not _fits(kept, max_chars, max_tokens) and anchor > 0:
        kept = kept[1:]
        anchor -= 1
    return kept


def _last_messages(messages: list[Message], strategy: dict[str, Any] | None) -> list[Message]:
    count = (strategy or {}).get("last_messages")
    if (strategy or {}).get("type") != "last_messages" or not isinstance(count, int):
        return list(messages)
    kept = messages[-count:] if count > 0 else []
    anchor = _last_user_index(messages)
    if anchor >= 0 and messages[anchor] not in kept:
        kept = messages[anchor:]  # never drop the message being answered
    return list(kept)


def _fits(messages: list[Message], max_chars: int | None, max_tokens: int | None) -> bool:
    if max_chars is not None and _chars(messages) > max_chars:
        return False
    return max_tokens is None or estimate_prompt_tokens(messages) <= max_tokens


def _chars(messages: list[Message]) -> int:
    overhead = MESSAGE_OVERHEAD_TOKENS * CHARS_PER_TOKEN
    return sum(len(_text(m)) + overhead for m in messages)


def _text(message: Message) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else str(content or "")


def _last_user_index(messages: list[Message]) -> int:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "user":
            return index
    return len(messages) - 1
