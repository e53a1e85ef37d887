"""Token usage in one shape, whatever the upstream reported.

Assistants runs say `prompt_token_details` (singular "token"); Chat Completions says
`prompt_tokens_details`; the Responses API says `input_tokens`/`output_tokens`. When nothing
is reported (a cancelled run, a server that never counts), usage is estimated from the text
and marked `estimated`.

The estimate splits text roughly as byte-level BPE tokenisers do before merging (`_PIECES`):
a word is a token (a long one two or more), each digit is one (Llama-family, Qwen and SmolLM
vocabularies split numbers into digits), punctuation costs less than a token a mark (marks
pair up: `",`, `):`), and every non-ASCII character adds one. Against SmolLM2's tokeniser it
is within 6% on this repository's docs and code and on English prose, within 15% on model
replies and JSON (numbers: -8%, French: -24%); 4 characters a token was off by up to 28% on
each of those, by 33% on JSON and by 71% on numbers. Only usage an upstream did not report
is estimated (llama.cpp's server reports none in a stream).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# A rough average for English text with OpenAI's tokenisers; character budgets
# (`upstreams.history.fit_history`) still convert tokens at this rate.
CHARS_PER_TOKEN = 4

_PIECES = re.compile(
    r"(?P<word>[^\W\d_]+)"  # a run of letters
    r"|(?P<digit> ?\d)"  # one digit, with the space before it (a token of its own)
    r"|(?P<marks>(?:[^\w\s]|_)+)"  # a run of punctuation and symbols
    r"|(?P<space>\n+| {2,})"  # line breaks, indentation (a single space joins the next word)
)
LETTERS_PER_EXTRA_TOKEN = 7  # a word of 8 letters or more is split
FIRST_MARK_TOKENS = 0.75  # a lone mark is often merged with a space or a quote beside it
MORE_MARK_TOKENS = 0.5
# Chat templates wrap each message in role markers (ChatML's `<|im_start|>user\n`...
# `<|im_end|>\n` is 5 tokens; OpenAI's chat models count 3) and open the reply after the last.
MESSAGE_FRAMING_TOKENS = 5
REPLY_PRIMING_TOKENS = 4


def normalise_usage(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    prompt = _int(raw, "prompt_tokens", "input_tokens")
    completion = _int(raw, "completion_tokens", "output_tokens")
    total = _int(raw, "total_tokens") or prompt + completion
    prompt_details = _details(
        raw, "prompt_token_details", "prompt_tokens_details", "input_tokens_details"
    )
    completion_details = _details(raw, "completion_tokens_details", "output_tokens_details")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
        "cached_tokens": prompt_details.get("cached_tokens"),
        "reasoning_tokens": completion_details.get("reasoning_tokens"),
        # Adapters mark usage they had to estimate (the upstream reported none).
        "estimated": raw.get("estimated") is True,
    }


def estimate_usage(
    *, completion_text: str, prompt_text: str = "", prompt_tokens: int | None = None
) -> dict[str, Any]:
    """Usage from what a request sent and the text it got. The prompt is best given as
    `prompt_tokens` (`estimate_prompt_tokens` of the messages sent, framing included); else
    from `prompt_text`, the messages' texts joined ("" when unknown), with the reply's opening
    but no framing."""
    if prompt_tokens is None:
        prompt_tokens = estimate_tokens(prompt_text) + (REPLY_PRIMING_TOKENS if prompt_text else 0)
    prompt = prompt_tokens
    completion = estimate_tokens(completion_text)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cached_tokens": None,
        "reasoning_tokens": None,
        "estimated": True,
    }


def estimate_tokens(text: str) -> int:
    """The tokens of `text` as a model's tokeniser would count them, roughly (see above)."""
    if not text:
        return 0
    count = 0.0
    for match in _PIECES.finditer(text):
        piece, kind = match.group(), match.lastgroup
        if kind == "word":
            count += 1 + (len(piece) - 1) // LETTERS_PER_EXTRA_TOKEN
        elif kind == "digit":
            count += len(piece)
        elif kind == "marks":
            count += FIRST_MARK_TOKENS + MORE_MARK_TOKENS * (len(piece) - 1)
        else:
            count += 1
        if not piece.isascii():
            count += sum(1 for char in piece if ord(char) > 127)
    return max(int(count), 1)


def estimate_prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """A chat request's prompt: each message's text (and tool-call arguments) with its
    framing, and the opening of the reply. Closer than `estimate_tokens` on the messages'
    joined text, which misses the framing: ~5 tokens a message, a third of a short one."""
    total = REPLY_PRIMING_TOKENS
    for message in messages:
        total += MESSAGE_FRAMING_TOKENS + estimate_tokens(_message_text(message))
    return total


def _message_text(message: Mapping[str, Any]) -> str:
    """A chat message's text, or a Responses input item's (`arguments` of a function call,
    `output` of its result)."""
    parts = [
        message[key]
        for key in ("content", "arguments", "output")
        if isinstance(message.get(key), str)
    ]
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, Mapping) else None
        if isinstance(function, Mapping) and isinstance(function.get("arguments"), str):
            parts.append(function["arguments"])
    return "\n".join(part for part in parts if part)


def _int(raw: dict[str, Any], *keys: str) -> int:
    for key in keys:
        value = raw.get(key)
        if isinstance(value, int):
            return value
    return 0


def _details(raw: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        value = raw.get(key)
        if isinstance(value, dict):
            return value
    return {}


def run_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Normalised usage back in the shape Assistants runs and steps report it, with the
    live API's detail objects (`prompt_token_details`, singular "token") and our own
    `estimated` flag when it was estimated."""
    shaped: dict[str, Any] = {
        "prompt_tokens": usage["prompt_tokens"],
        "completion_tokens": usage["completion_tokens"],
        "total_tokens": usage["total_tokens"],
        "prompt_token_details": {"cached_tokens": usage.get("cached_tokens") or 0},
        "completion_tokens_details": {"reasoning_tokens": usage.get("reasoning_tokens") or 0},
    }
    if usage.get("estimated"):
        shaped["estimated"] = True
    return shaped


def add_usage(first: dict[str, Any] | None, second: dict[str, Any] | None) -> dict[str, Any] | None:
    """The sum of two normalised usages: a run's usage is the sum over its requests. The sum
    is estimated if either part was."""
    if first is None or second is None:
        return first or second
    total = {key: _sum(first, second, key) for key in _COUNTED}
    total["estimated"] = bool(first.get("estimated") or second.get("estimated"))
    return total


_COUNTED = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
)


def _sum(first: dict[str, Any], second: dict[str, Any], key: str) -> int | None:
    a, b = first.get(key), second.get(key)
    if a is None and b is None:
        return None
    return (a or 0) + (b or 0)
