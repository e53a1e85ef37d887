"""Search with PostgreSQL: `to_tsvector('simple', ...)` of message texts and thread titles,
served by GIN indexes on those very expressions (`schema`). The 'simple' configuration
stems nothing, as SQLite's tokenizer does not: the same words find the same messages.
Messages come newest first, as with SQLite (ranking would score every match first)."""

from __future__ import annotations

from typing import Any

from django.db import connection

from chat.search.hits import START, STOP, Hit

_OPTIONS = f"StartSel={START}, StopSel={STOP}, MaxWords=24, MinWords=8, MaxFragments=1"

_MESSAGES = f"""
SELECT m.thread_id, t.title, m.id, m.run_id, m.role,
       ts_headline('simple', m.content, q, '{_OPTIONS}'), m.created_at
FROM chat_message m
JOIN chat_thread t ON t.id = m.thread_id, to_tsquery('simple', %s) q
WHERE to_tsvector('simple', m.content) @@ q AND t.owner_id = %s
ORDER BY m.id DESC
LIMIT %s
"""

_TITLES = f"""
SELECT t.id, t.title, NULL, NULL, 'title',
       ts_headline('simple', t.title, q, '{_OPTIONS}'), t.updated_at
FROM chat_thread t, to_tsquery('simple', %s) q
WHERE to_tsvector('simple', t.title) @@ q AND t.owner_id = %s
ORDER BY ts_rank(to_tsvector('simple', t.title), q) DESC, t.id DESC
LIMIT %s
"""


def tsquery(words: list[str]) -> str:
    # Every word, each also as a prefix; words are \\w+ only, so nothing here is syntax.
    return " & ".join(f"{word}:*" for word in words)


def search(*, user_id: int, words: list[str], limit: int) -> list[Hit]:
    query = tsquery(words)
    with connection.cursor() as cursor:
        cursor.execute(_TITLES, [query, user_id, limit])
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        cursor.execute(_MESSAGES, [query, user_id, limit])
        rows += cursor.fetchall()
    return [Hit(*row) for row in rows[:limit]]
