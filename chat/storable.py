"""Text a database can store: no NUL and no lone surrogate.

PostgreSQL refuses a NUL in text and in JSON (SQLite takes both), and no database takes a
lone surrogate (text from a JSON escape such as "\\ud800" that encodes no character). From a
user they are refused with a clear error (`chat.services`); from an upstream they are replaced
with U+FFFD before storage, on every database alike, and the run's record says so.
"""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def unstorable_count(text: str) -> int:
    return len(_UNSTORABLE.findall(text))


def storable(text: str) -> str:
    return _UNSTORABLE.sub(REPLACEMENT, text) if _UNSTORABLE.search(text) else text


def storable_json(value: Any) -> tuple[Any, int]:
    """`value` (parsed JSON) with every string made storable; and how many characters were
    replaced."""
    if isinstance(value, str):
        count = unstorable_count(value)
        return (storable(value) if count else value), count
    if isinstance(value, list):
        items = [storable_json(item) for item in value]
        return [item for item, _ in items], sum(count for _, count in items)
    if isinstance(value, dict):
        pairs = [(storable_json(k), storable_json(v)) for k, v in value.items()]
        return {k: v for (k, _), (v, _) in pairs}, sum(a + b for (_, a), (_, b) in pairs)
    return value, 0
