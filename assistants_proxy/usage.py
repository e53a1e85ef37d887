"""Token usage in one shape, whatever the upstream reported.

Assistants runs say `prompt_token_details` (singular "token"); Chat Completions says
`prompt_tokens_details`; the Responses API says `input_tokens`/`output_tokens`. When nothing
is reported (a cancelled run, a server that never counts), usage is estimated from the text
and marked `estimated`.
"""

from __future__ import annotations

from typing import Any

# A rough average for English text with OpenAI's tokenisers.
CHARS_PER_TOKEN = 4


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


def estimate_usage(*, prompt_text: str, completion_text: str) -> dict[str, Any]:
    prompt = estimate_tokens(prompt_text)
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
    return -(-len(text) // CHARS_PER_TOKEN)  # ceiling division


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
