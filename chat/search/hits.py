"""What both search engines answer, and the query words they are given."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Around a matched word in a snippet (private-use characters: never in a message's meaning).
START, STOP = "\ue000", "\ue001"
MAX_WORDS = 8
_WORD = re.compile(r"\w+", re.UNICODE)


def query_words(query: str) -> list[str]:
    """The words of a query, lower-cased, without the engines' own syntax (quotes, stars,
    AND/OR/NOT, parentheses): a user types words, not an expression."""
    return [word.lower() for word in _WORD.findall(query or "")][:MAX_WORDS]


@dataclass(frozen=True)
class Hit:
    thread_id: int
    thread_title: str
    message_id: int | None  # None: the thread's title matched
    run_id: int | None
    role: str
    snippet: str  # matched words between START and STOP
    created_at: datetime


def snippet_parts(snippet: str) -> list[dict[str, Any]]:
    """A snippet as [{"text", "match"}], in order, for a client to mark up safely."""
    parts: list[dict[str, Any]] = []
    for index, piece in enumerate(re.split(f"[{START}{STOP}]", snippet)):
        if piece:
            parts.append({"text": piece, "match": index % 2 == 1})
    return parts
