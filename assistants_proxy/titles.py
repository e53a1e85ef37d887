"""A short title for a conversation, asked of its upstream in one small, non-streamed request.

Chat Completions and the Responses API answer a turn without streaming. An Assistants server
answers only through a thread and a run, which is no cheap request: for it `ask_title` gives
None and the caller keeps its fallback title.
"""

from __future__ import annotations

import re
from typing import Any

from assistants_proxy.client import AssistantsClient

MAX_TITLE_CHARS = 60
EXCERPT_CHARS = 1500  # of each side of the exchange: enough to name it, cheap to send
TITLE_TOKENS = 24
INSTRUCTIONS = (
    "Write a title of at most six words for the conversation below. Answer with the title "
    "only: no quotes, no punctuation at the end."
)
_MARKUP = re.compile(r"[#*_`>\"“”]+")


async def ask_title(
    client: AssistantsClient, *, protocol: str, model: str, message: str, reply: str
) -> str | None:
    """The upstream's title for the exchange, cleaned; None when the protocol has no cheap
    request or the answer holds no text. Raises the client's errors."""
    excerpt = f"User: {message[:EXCERPT_CHARS]}\n\nAssistant: {reply[:EXCERPT_CHARS]}"
    if protocol == "chat_completions":
        answer = await client.post_json("/chat/completions", _chat_body(model, excerpt))
        return clean_title(_chat_text(answer))
    if protocol == "responses":
        answer = await client.post_json("/responses", _responses_body(model, excerpt))
        return clean_title(_responses_text(answer))
    return None


def _chat_body(model: str, excerpt: str) -> dict[str, Any]:
    messages = [
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": excerpt},
    ]
    return {"model": model, "messages": messages, "stream": False, "max_tokens": TITLE_TOKENS}


def _responses_body(model: str, excerpt: str) -> dict[str, Any]:
    return {
        "model": model,
        "instructions": INSTRUCTIONS,
        "input": excerpt,
        "stream": False,
        "max_output_tokens": TITLE_TOKENS,
    }


def _chat_text(answer: dict[str, Any]) -> str:
    choices = answer.get("choices") or [{}]
    message = choices[0].get("message") if isinstance(choices[0], dict) else None
    return str((message or {}).get("content") or "")


def _responses_text(answer: dict[str, Any]) -> str:
    texts = [
        str(part.get("text") or "")
        for item in answer.get("output") or []
        if isinstance(item, dict) and item.get("type") == "message"
        for part in item.get("content") or []
        if isinstance(part, dict) and part.get("type") == "output_text"
    ]
    return "".join(texts)


def clean_title(text: str) -> str | None:
    """The first line with text, without Markdown or quotes, cut to MAX_TITLE_CHARS."""
    for line in text.splitlines():
        line = " ".join(_MARKUP.sub("", line).split()).strip(" .:;-")
        if line:
            return cut_title(line)
    return None


def cut_title(line: str) -> str:
    """`line` cut to MAX_TITLE_CHARS, an ellipsis marking the cut."""
    if len(line) <= MAX_TITLE_CHARS:
        return line
    return line[: MAX_TITLE_CHARS - 1].rstrip() + "…"
