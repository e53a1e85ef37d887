"""Full-text search over a user's messages and thread titles, with the database's own engine:
SQLite FTS5 (`sqlite`), PostgreSQL `tsvector` with GIN indexes (`postgres`). `search` picks
the one of the connection in use; both answer the same `Hit`s, in the same order (`phases`).

The indexes are made by migrations 0008 and 0010 (`schema`). Snippets mark the matched words
with two private-use characters, which `snippet_parts` turns into text parts: no HTML is ever
built from a message here.
"""

from __future__ import annotations

from django.db import connection

from chat.errors import InvalidInput
from chat.search import postgres, sqlite
from chat.search.hits import Hit, query_words
from chat.selectors import AnyUser

MAX_RESULTS = 50


def search(*, user: AnyUser, query: str, limit: int = 20) -> list[Hit]:
    """The user's messages and threads matching every word of `query` (each word also as a
    prefix): titles first, whole words before prefixes, newest first."""
    words = query_words(query)
    if not words:
        raise InvalidInput("Type a word to search for.", code="empty_query")
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidInput(f"'limit' must be from 1 to {MAX_RESULTS}.", code="invalid_limit")
    engine = postgres if connection.vendor == "postgresql" else sqlite
    return engine.search(user_id=user.pk, words=words, limit=limit)


__all__ = ["Hit", "search"]
