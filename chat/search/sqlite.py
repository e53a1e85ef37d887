"""Search with SQLite FTS5: `chat_message_fts` and `chat_thread_fts` are external-content
indexes of the message texts and thread titles, kept current by triggers (`schema`).

Messages come newest first, not by bm25: ranking scores every match before the LIMIT, which
for a common word is most of the table (bench/conversation.py: 387 ms at p95 over 200,000
messages), while the index walks rowids newest first and stops at the limit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.utils.dateparse import parse_datetime

from chat.search.hits import START, STOP, Hit

_MESSAGES = f"""
SELECT m.thread_id, t.title, m.id, m.run_id, m.role,
       snippet(chat_message_fts, 0, '{START}', '{STOP}', '…', 16), m.created_at
FROM chat_message_fts
JOIN chat_message m ON m.id = chat_message_fts.rowid
JOIN chat_thread t ON t.id = m.thread_id
WHERE chat_message_fts MATCH %s AND t.owner_id = %s
ORDER BY chat_message_fts.rowid DESC
LIMIT %s
"""

_TITLES = f"""
SELECT t.id, t.title, NULL, NULL, 'title',
       highlight(chat_thread_fts, 0, '{START}', '{STOP}'), t.updated_at
FROM chat_thread_fts
JOIN chat_thread t ON t.id = chat_thread_fts.rowid
WHERE chat_thread_fts MATCH %s AND t.owner_id = %s
ORDER BY bm25(chat_thread_fts), t.id DESC
LIMIT %s
"""


def match_expression(words: list[str]) -> str:
    # Every word, each also as a prefix ("riv" finds "rivers"); words are \\w+ only.
    return " ".join(f'"{word}"*' for word in words)


def search(*, user_id: int, words: list[str], limit: int) -> list[Hit]:
    expression = match_expression(words)
    with connection.cursor() as cursor:
        cursor.execute(_TITLES, [expression, user_id, limit])
        rows = cursor.fetchall()
        cursor.execute(_MESSAGES, [expression, user_id, limit])
        rows += cursor.fetchall()
    return [_hit(row) for row in rows[:limit]]


def _hit(row: tuple[Any, ...]) -> Hit:
    thread_id, title, message_id, run_id, role, snippet, created = row
    when = created if isinstance(created, datetime) else parse_datetime(str(created))
    assert when is not None
    return Hit(thread_id, title, message_id, run_id, role, snippet, when)
